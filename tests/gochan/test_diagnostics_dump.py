"""Goroutine dumps and the leak check (``gochan/_dump.py``): ``dump``, the signal handler,
``verify_none``."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from gochan_helpers import wait_blocked, wait_until

import gochan
from gochan import Chan, go


def _line(marker: str) -> int:
    for number, text in enumerate(Path(__file__).read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(marker)


def _entry(dump: str, header: str) -> str:
    for block in dump.split("\n\n"):
        if block.startswith(header):
            return block
    raise AssertionError(f"no entry {header!r} in:\n{dump}")


def test_dump_shows_blocked_and_running_goroutines_and_main() -> None:
    ch: Chan[int] = Chan(2)
    stop = threading.Event()

    def waiter() -> None:
        ch.recv()  # @dump-recv

    def busy() -> None:
        while not stop.wait(0.01):  # @dump-busy
            pass

    blocked = go(waiter)  # @dump-go
    running = go(busy)
    wait_blocked(1, op="chan receive", chan=ch)
    wait_until(lambda: running in gochan.goroutines())
    try:
        text = gochan.dump()  # @dump-call
    finally:
        ch.send(1)
        stop.set()
        blocked.join(5)
        running.join(5)

    assert text.startswith("gochan dump: ")
    main = _entry(text, 'thread "MainThread" [running]:')
    assert f'File "{__file__}", line {_line("@dump-call")}, in ' in main
    assert "gochan.dump()" in main
    assert "gochan/_dump.py" not in main  # gochan's own frames are left out

    entry = _entry(text, f'goroutine {blocked.id} "{blocked.name}" [chan receive, ')
    assert re.search(r"\[chan receive, \d+\.\ds\]:", entry)
    assert f"  on <Chan cap=2 len=0 open made at {__file__}:" in entry
    assert f'File "{__file__}", line {_line("@dump-recv")}, in waiter' in entry
    assert entry.endswith(f"created by {_creator()} at {__file__}:{_line('@dump-go')}")

    busy_entry = _entry(text, f'goroutine {running.id} "{running.name}" [running]:')
    assert f'line {_line("@dump-busy")}, in busy' in busy_entry
    assert "_bootstrap" not in busy_entry  # the thread bootstrap frames are left out
    # main first, then goroutines by id
    assert text.index("MainThread") < text.index(f"goroutine {blocked.id} ")
    assert text.index(f"goroutine {blocked.id} ") < text.index(f"goroutine {running.id} ")


def _creator() -> str:
    return "test_dump_shows_blocked_and_running_goroutines_and_main"


def test_dump_lists_a_select_case_by_case_and_a_plain_thread() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan(1)
    b.send(0)  # b is full, so a send case on it blocks

    def selector() -> None:
        gochan.select(a.recv, (b.send, 1))

    thread = threading.Thread(target=selector, name="plain-selector")
    thread.start()
    wait_blocked(1, op="select")
    try:
        text = gochan.dump()
    finally:
        a.send(1)
        thread.join(5)
    entry = _entry(text, 'thread "plain-selector" [select, ')
    assert "  case recv <Chan cap=0 len=0 open" in entry
    assert "  case send <Chan cap=1 len=1 open" in entry
    assert "created by" not in entry  # not a goroutine


def test_dump_shows_a_wait_with_timeout() -> None:
    ch: Chan[int] = Chan()
    g = go(ch.recv, timeout=30)
    wait_blocked(1, chan=ch)
    try:
        assert "timeout 30s]:" in _entry(gochan.dump(), f"goroutine {g.id} ")
    finally:
        ch.send(1)
        g.join(5)


@pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="needs SIGQUIT")
def test_dump_handler_prints_the_dump_on_sigquit_and_keeps_running(
    capsys: pytest.CaptureFixture[str],
) -> None:
    previous = gochan.install_dump_handler()
    try:
        os.kill(os.getpid(), signal.SIGQUIT)  # the handler runs before the next line
        err = capsys.readouterr().err
    finally:
        signal.signal(signal.SIGQUIT, previous)
    assert err.startswith("gochan dump: ")
    assert 'thread "MainThread" [running]:' in err


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_dump_handler_takes_another_signal(capsys: pytest.CaptureFixture[str]) -> None:
    previous = gochan.install_dump_handler(signal.SIGUSR1)
    try:
        signal.raise_signal(signal.SIGUSR1)
        err = capsys.readouterr().err
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert err.startswith("gochan dump: ")


# -- verify_none ------------------------------------------------------------------------


def test_verify_none_lists_leaked_goroutines_with_their_dump_entry() -> None:
    ch: Chan[int] = Chan()

    def leaky() -> None:
        ch.recv()  # @leak-recv

    g = go(leaky)
    wait_blocked(1, chan=ch)
    started = time.monotonic()
    try:
        with pytest.raises(AssertionError) as info:
            gochan.verify_none(timeout=0.3)
        assert 0.25 < time.monotonic() - started < 3
    finally:
        ch.close()
        g.join(5)
    message = str(info.value)
    assert message.startswith("found unexpected goroutines:\n\n")
    assert f'goroutine {g.id} "{g.name}" [chan receive, ' in message
    assert f'line {_line("@leak-recv")}, in leaky' in message
    assert "created by test_verify_none_lists_leaked_goroutines_with_their_dump_entry" in message


def test_verify_none_waits_for_goroutines_winding_down() -> None:
    g = go(time.sleep, 0.1)
    gochan.verify_none(timeout=2.0)
    assert not g.is_alive()


def test_verify_none_ignores_a_baseline() -> None:
    ch: Chan[int] = Chan()
    g = go(ch.recv)
    wait_blocked(1, chan=ch)
    try:
        gochan.verify_none(timeout=0.05, ignore=gochan.goroutines())
    finally:
        ch.close()
        g.join(5)
