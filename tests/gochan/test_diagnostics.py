"""Deadlock detection and stall warnings (``gochan/_deadlock.py``).

The deadlocks run as scripts in ``scripts/`` under ``sys.executable``, all started
at once by one module fixture; each blocking line in a script carries a ``# @name``
marker, and the report must point at it. The scripts named ``ok_*`` look stuck for
a second but are not, and must finish without a report.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gochan_helpers import wait_until

import gochan
from gochan import Chan, Deadlock, go

SCRIPTS = Path(__file__).parent / "scripts"
RUN_TIMEOUT = 20.0  # only reached when detection is broken
REPORT = "gochan.Deadlock: all goroutines are asleep - deadlock!"

posix_only = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")


class Run:
    """A finished script: exit code, output, wall time, and its ``# @name`` line numbers."""

    def __init__(self, path: Path, proc: subprocess.Popen[str], started: float) -> None:
        try:
            self.stdout, self.stderr = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.stdout, self.stderr = proc.communicate()
        self.elapsed = time.monotonic() - started
        self.returncode = proc.returncode
        self.path = str(path)
        self.lines = {
            m.group(1): number
            for number, text in enumerate(path.read_text().splitlines(), 1)
            if (m := re.search(r"# @(\w+)", text))
        }

    def at(self, marker: str) -> str:
        """How the report shows the marked line in a stack: ``File "...", line N``."""
        return f'File "{self.path}", line {self.lines[marker]}'

    def site(self, marker: str) -> str:
        """``path:line`` of the marked line (``created by``, a channel's ``made at``)."""
        return f"{self.path}:{self.lines[marker]}"

    def entry(self, header: str) -> str:
        """The report entry that starts with ``header`` (up to the next blank line)."""
        for block in self.stderr.split("\n\n"):
            start = block.find(header)
            if start >= 0:
                return block[start:]
        raise AssertionError(f"no entry {header!r} in:\n{self.stderr}")


def _start(
    name: str, env: dict[str, str] | None = None
) -> tuple[Path, subprocess.Popen[str], float]:
    path = SCRIPTS / name
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return path, proc, time.monotonic()


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """Every script, run concurrently (the whole set takes about as long as the slowest)."""
    names = sorted(p.name for p in SCRIPTS.glob("*.py") if p.name.startswith(("deadlock_", "ok_")))
    started = {name: _start(name) for name in names}
    return {name.removesuffix(".py"): Run(*started[name]) for name in names}


def _assert_deadlock_report(run: Run) -> None:
    assert run.returncode != 0, run.stderr
    assert REPORT in run.stderr
    assert run.elapsed < 10, f"took {run.elapsed:.1f}s"
    assert "unreachable" not in run.stdout


# -- deadlocks --------------------------------------------------------------------------


def test_two_party_deadlock_names_both_parties_and_lines(runs: dict[str, Run]) -> None:
    run = runs["deadlock_two_party"]
    _assert_deadlock_report(run)
    main = run.entry('thread "MainThread" [chan send, ')
    assert run.at("main") in main
    assert "a.send(2)" in main
    assert f"on <Chan cap=0 len=0 open made at {run.path}:5>" in main
    worker = run.entry('goroutine 1 "goroutine-1 worker" [chan send, ')
    assert run.at("worker") in worker
    assert f"made at {run.path}:6>" in worker
    assert f"created by <module> at {run.site('go')}" in worker
    # The traceback ends in the user's blocked call, with the report as the message.
    assert run.stderr.index(run.at("main")) < run.stderr.index(REPORT)


def test_lone_main_thread_receive_is_a_deadlock(runs: dict[str, Run]) -> None:
    run = runs["deadlock_main_recv"]
    _assert_deadlock_report(run)
    main = run.entry('thread "MainThread" [chan receive, ')
    assert run.at("main") in main
    assert "<Chan cap=4 len=0 open made at" in main
    assert "goroutine " not in run.stderr  # nobody else is blocked


def test_waitgroup_never_done_is_a_deadlock(runs: dict[str, Run]) -> None:
    run = runs["deadlock_waitgroup"]
    _assert_deadlock_report(run)
    main = run.entry('thread "MainThread" [WaitGroup.wait, ')
    assert run.at("main") in main
    assert "on <WaitGroup count=1 waiters=1>" in main
    worker = run.entry('goroutine 1 "goroutine-1 worker" [chan receive, ')
    assert run.at("worker") in worker  # the `for job in jobs:` line, not gochan's __iter__
    assert f"created by <module> at {run.site('go')}" in worker
    assert "gochan/_chan.py" not in worker


def test_select_over_nil_channels_is_a_deadlock(runs: dict[str, Run]) -> None:
    run = runs["deadlock_nil_select"]
    _assert_deadlock_report(run)
    main = run.entry('thread "MainThread" [select, ')
    assert run.at("main") in main
    assert "case recv <nilchan>" in main
    assert "case send <nilchan>" in main
    assert run.at("nocases") in run.entry('"goroutine-1 no_cases" [select (no cases), ')
    assert run.at("nilrecv") in run.entry('"goroutine-2 nil_recv" [chan receive (nil chan), ')


def test_goroutine_blocked_while_main_waits_on_it(runs: dict[str, Run]) -> None:
    run = runs["deadlock_goroutine"]
    _assert_deadlock_report(run)
    assert run.at("main") in run.entry('thread "MainThread" [chan receive, ')
    worker = run.entry('goroutine 1 "goroutine-1 serve" [chan receive, ')
    assert run.at("worker") in worker
    assert f"created by <module> at {run.site('go')}" in worker
    # Go's order: main first, then goroutines by id.
    assert run.stderr.index('thread "MainThread"') < run.stderr.index("goroutine 1 ")


def test_non_daemon_thread_left_blocked_after_main_returns_gets_the_report(
    runs: dict[str, Run],
) -> None:
    # Without detection the interpreter would wait for the thread forever at exit.
    run = runs["deadlock_after_main"]
    assert "main returns" in run.stdout
    assert run.elapsed < 10, f"took {run.elapsed:.1f}s"
    assert "Exception in thread consumer" in run.stderr
    assert run.at("worker") in run.entry('thread "consumer" [chan receive, ')


@pytest.mark.parametrize("name", ["ok_sleeper", "ok_timer", "ok_plain_thread"])
def test_waits_that_end_are_not_deadlocks(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.stderr
    assert "deadlock" not in run.stderr
    assert run.stdout.strip()


def test_env_var_turns_detection_off() -> None:
    _, proc, _ = _start("deadlock_main_recv.py", {"GOCHAN_DEADLOCK": "0"})
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(1.0)  # detection fires after ~0.15 s when on
    finally:
        proc.kill()
        _, stderr = proc.communicate()
    assert "deadlock" not in stderr


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX")
def test_signal_handler_counts_as_a_waker() -> None:
    _, proc, _ = _start("signal_shutdown.py")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.8)  # all threads parked far longer than the detector needs
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "deadlock" not in stderr
    assert "stopped" in stdout


# -- in process -------------------------------------------------------------------------


class Alarm(Exception):
    """Raised by the SIGALRM handler: the safety net, and a waker the detector cannot see."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`Alarm` in the main thread after ``seconds`` (restores any outer timer)."""

    def ring(signum: int, frame: object) -> None:
        raise Alarm

    previous = signal.signal(signal.SIGALRM, ring)
    outer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *outer)
        signal.signal(signal.SIGALRM, previous)


def _only_main_thread() -> None:
    import threading

    others = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and t.name not in ("gochan-watchdog", "gochan-timers")
    ]
    if others:
        pytest.skip(f"other threads are running: {others}")


@posix_only
def test_deadlock_raises_in_the_blocked_main_thread() -> None:
    _only_main_thread()
    ch: Chan[int] = Chan()
    started = time.monotonic()
    with alarm(5.0), pytest.raises(Deadlock) as info:
        ch.recv()  # @inprocess
    assert time.monotonic() - started < 2.0
    report = str(info.value)
    assert report.startswith("all goroutines are asleep - deadlock!\n\n")
    assert 'thread "MainThread" [chan receive, ' in report
    assert f'File "{__file__}", line {_line("@inprocess")}' in report
    assert "ch.recv()" in report
    # The channel is usable afterwards: the deadlocked receive was withdrawn.
    ch.close()
    assert ch.recv_ok() == (None, False)


@posix_only
def test_wait_with_timeout_is_not_a_deadlock() -> None:
    _only_main_thread()
    with alarm(5.0), pytest.raises(TimeoutError):
        Chan[int]().recv(timeout=0.4)


@posix_only
def test_set_deadlock_detection_false_turns_it_off() -> None:
    _only_main_thread()
    previous = gochan.set_deadlock_detection(False)
    try:
        assert previous is True
        # Nothing the detector can see will wake main; only the signal handler does.
        with alarm(0.5), pytest.raises(Alarm):
            Chan[int]().recv()
    finally:
        assert gochan.set_deadlock_detection(previous) is False


def _line(marker: str) -> int:
    for number, text in enumerate(Path(__file__).read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(marker)


# -- stall warnings ---------------------------------------------------------------------


@pytest.fixture
def stall_threshold() -> Iterator[None]:
    previous = gochan.set_stall_warning(0.2)
    try:
        yield
    finally:
        gochan.set_stall_warning(previous)


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gochan" and text in r.getMessage()]


def test_stall_warning_names_the_blocked_send_and_its_line_then_resume(
    caplog: pytest.LogCaptureFixture, stall_threshold: None
) -> None:
    caplog.set_level(logging.WARNING, logger="gochan")
    numbers: Chan[int] = Chan()
    squares: Chan[int] = Chan()

    def generate() -> None:
        for n in range(5):
            numbers.send(n)
        numbers.close()

    def square() -> None:
        for n in numbers:
            squares.send(n * n)  # @stalled-send
        squares.close()

    go(generate)
    go(square)
    assert squares.recv() == 0
    # The consumer stops reading: square blocks on its send, then generate on its.
    wait_until(lambda: bool(_messages(caplog, "squares.send")), timeout=5)
    [warning] = _messages(caplog, "squares.send")
    header = r'goroutine \d+ "goroutine-\d+ .*square" \[chan send\] blocked for 0\.\ds'
    assert re.search(header, warning)
    assert f"on <Chan cap=0 len=0 open made at {__file__}:" in warning
    assert f"at {__file__}:{_line('@stalled-send')}: squares.send(n * n)" in warning
    assert not _messages(caplog, "resumed")
    assert list(squares) == [1, 4, 9, 16]  # reading again
    wait_until(lambda: len(_messages(caplog, "resumed after")) >= 2, timeout=5)
    resumed = _messages(caplog, "resumed after")
    assert any(f"{__file__}:{_line('@stalled-send')}" in m for m in resumed)
    assert all(re.search(r"\[chan send\] resumed after \d+\.\ds", m) for m in resumed)
    # One warning per blocked operation, not one per check.
    assert len(_messages(caplog, "blocked for")) == 2


def test_no_stall_warning_below_the_threshold(
    caplog: pytest.LogCaptureFixture, stall_threshold: None
) -> None:
    caplog.set_level(logging.WARNING, logger="gochan")
    ch: Chan[int] = Chan()
    g = go(ch.send, 1)
    time.sleep(0.05)
    assert ch.recv() == 1
    g.join(5)
    time.sleep(0.3)
    assert not _messages(caplog, "blocked for")


def test_idle_waits_silence_a_workers_receives_but_not_its_sends(
    caplog: pytest.LogCaptureFixture, stall_threshold: None
) -> None:
    caplog.set_level(logging.WARNING, logger="gochan")
    work: Chan[int] = Chan()
    out: Chan[int] = Chan()
    quiet: Chan[int] = Chan()
    wg = gochan.WaitGroup()
    wg.add(1)

    def worker() -> None:
        with gochan.idle_waits():
            for n in work:  # @idle-recv
                out.send(n)  # @busy-send
            wg.wait()  # @idle-wait

    def selector() -> None:
        with gochan.idle_waits():
            gochan.select(quiet.recv, quiet.recv_ok)  # @idle-select

    w = go(worker)
    s = go(selector)
    time.sleep(0.6)  # three thresholds: the idle receives stay quiet
    assert not _messages(caplog, "blocked for")
    work.send(1)  # the worker now stalls on its send, which warns
    wait_until(lambda: bool(_messages(caplog, "out.send")), timeout=5)
    assert out.recv() == 1
    work.close()
    time.sleep(0.4)
    wg.done()
    quiet.close()
    w.join(5)
    s.join(5)
    warned = _messages(caplog, "blocked for")
    assert len(warned) == 1 and f"{__file__}:{_line('@busy-send')}" in warned[0]
    assert not gochan._deadlock._idle_threads  # left by both


def test_idle_waits_elsewhere_do_not_silence_this_thread(
    caplog: pytest.LogCaptureFixture, stall_threshold: None
) -> None:
    caplog.set_level(logging.WARNING, logger="gochan")
    ch: Chan[int] = Chan()
    with gochan.idle_waits():
        g = go(ch.recv)  # another thread: not marked
        wait_until(lambda: bool(_messages(caplog, "blocked for")), timeout=5)
    ch.send(1)
    g.join(5)


def test_stall_hint_is_said_for_a_blocked_send_only(
    caplog: pytest.LogCaptureFixture, stall_threshold: None
) -> None:
    caplog.set_level(logging.WARNING, logger="gochan")
    fixed: Chan[int] = Chan()
    live: Chan[int] = Chan(1)
    broken: Chan[int] = Chan()
    gochan.set_stall_hint(fixed, "nobody reads fixed: read it")
    gochan.set_stall_hint(live, lambda: f"live holds {len(live)}")

    def fail() -> str:
        raise RuntimeError("boom")

    gochan.set_stall_hint(broken, fail)
    live.send(7)
    senders = [go(fixed.send, 4), go(live.send, 2), go(broken.send, 3)]
    idle_recv: Chan[int] = Chan()
    gochan.set_stall_hint(idle_recv, "never said for a receive")
    r = go(idle_recv.recv)
    wait_until(lambda: len(_messages(caplog, "blocked for")) >= 4, timeout=5)
    warned = _messages(caplog, "blocked for")
    assert any(m.endswith("; nobody reads fixed: read it") for m in warned)
    assert any(m.endswith("; live holds 1") for m in warned)
    assert any(m.endswith("; (the stall hint failed: RuntimeError('boom'))") for m in warned)
    assert not any("never said" in m for m in warned)
    assert fixed.recv() == 4 and live.recv() == 7 and live.recv() == 2 and broken.recv() == 3
    idle_recv.send(0)
    for g in [*senders, r]:
        g.join(5)
    gochan.set_stall_hint(fixed, None)
    assert fixed._stall_hint is None
    with pytest.raises(TypeError):
        gochan.set_stall_hint(fixed, 5)  # type: ignore[arg-type]


def test_set_stall_warning_validates_and_returns_previous() -> None:
    previous = gochan.set_stall_warning(None)
    try:
        assert gochan.set_stall_warning(0) is None  # 0 means off too
        assert gochan.set_stall_warning(1.5) is None
        assert gochan.set_stall_warning(None) == 1.5
        with pytest.raises(ValueError):
            gochan.set_stall_warning(-1)
        with pytest.raises(TypeError):
            gochan.set_stall_warning("5")  # type: ignore[arg-type]
    finally:
        gochan.set_stall_warning(previous)


def test_watchdog_thread_exits_when_nothing_is_parked() -> None:
    import threading

    ch: Chan[int] = Chan()
    g = go(ch.send, 1)
    wait_until(lambda: any(t.name == "gochan-watchdog" for t in threading.enumerate()))
    watchdog = next(t for t in threading.enumerate() if t.name == "gochan-watchdog")
    assert watchdog.daemon
    assert ch.recv() == 1
    g.join(5)
    watchdog.join(5)
    assert not watchdog.is_alive()
