"""``python -m gochan.demos`` (``gochan/demos/``): each demo run as its users run it, in a
subprocess, with its outcome checked; then in-process, where it must leave no thread.

No broker and no Java: the producer's demos are tested in
``tests/producer/functional/test_producer_demos.py``."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import pytest
from demo_helpers import run_demos

from gochan.demos import DEMOS, load, summary
from gochan.demos.__main__ import main


def demo(name: str | None) -> subprocess.CompletedProcess[str]:
    """``python -m gochan.demos [NAME]`` as a user runs it."""
    return run_demos("gochan.demos", name, summary, load)


def test_list() -> None:
    out = demo(None).stdout
    assert out.startswith("python -m gochan.demos NAME runs one of:\n")
    listed = re.findall(r"^  (\S+) +(.+)$", out, re.M)
    assert listed == [(name, summary(name)) for name in DEMOS]
    assert all(summary(name) for name in DEMOS)
    assert out.endswith("\n(the producer's lessons: python -m producer.demos)\n")


def test_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-demo"])
    assert exit_.value.code == 2
    assert "invalid choice: 'no-such-demo'" in capsys.readouterr().err


def test_unbuffered_deadlock() -> None:
    out = demo("unbuffered-deadlock").stdout
    assert "  | gochan.Deadlock: all goroutines are asleep - deadlock!\n" in out
    assert '  | thread "MainThread" [chan send, ' in out
    assert re.search(r'unbuffered_deadlock\.py", line \d+, in broken\n  \|     ch\.send\("hello"\)',
                     out)
    assert "exit status 1 after" in out
    assert "fixed(): received 'hello' from a sender goroutine" in out


def test_goroutine_leak() -> None:
    out = demo("goroutine-leak").stdout
    assert "  | AssertionError: found unexpected goroutines:\n" in out
    assert re.search(r'goroutine \d+ "goroutine-\d+ do_work\.<locals>\.worker" '
                     r"\[chan receive \(nil chan\), ", out)
    assert re.search(r"  \| created by do_work at .*goroutine_leak\.py:\d+", out)
    assert "main: the worker has terminated\nverify_none(): no goroutine left behind\n" in out


def test_heartbeat() -> None:
    out = demo("heartbeat").stdout
    for n in (1, 2):
        assert f"  worker {n}: beat after job 3\n" in out
        assert f"no heartbeat from worker {n} for 0.5s: cancelling it" in out
        assert f"worker {n}: beat after job 4" not in out
    assert "supervisor: worker 3 finished all 5 jobs\n2 restarts; every worker has exited" in out


def test_confinement() -> None:
    out = demo("confinement").stdout
    assert "squares(5), read from a receive-only channel: [0, 1, 4, 9, 16]" in out
    assert re.search(r"shared, no lock: +\d+ of 2000 increments \(\d+ lost\)", out)
    assert re.search(r"shared, with a lock: +2000 of 2000 increments \(none lost\)", out)
    assert re.search(r"confined, totals over a channel: +2000 of 2000 increments", out)


def test_bounded_fanout() -> None:
    out = demo("bounded-fanout").stdout
    assert re.search(r"^wrong: 200 requests over 200 connections, at most \d+ at once", out,
                     re.M)
    m = re.search(r"^right: 200 requests over (\d+) connections, at most (\d+) at once, "
                  r"[\d.]+s, 3276800 bytes read", out, re.M)
    assert m and 1 <= int(m[1]) <= 8 and 1 <= int(m[2]) <= 8


def _threads() -> set[threading.Thread]:
    # gochan's watchdog and timer threads exit by themselves after an idle second.
    return {t for t in threading.enumerate() if t.name not in ("gochan-watchdog", "gochan-timers")}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", DEMOS)
def test_in_process_leaves_nothing_behind(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """run() in this process: exit code 0, and no thread left (the plugin checks goroutines)."""
    before = _threads()
    started = time.monotonic()
    assert load(name).run() == 0, capsys.readouterr().out
    assert time.monotonic() - started < 60
    deadline = time.monotonic() + 5.0
    while not _threads() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads() <= before, f"threads left behind: {_threads() - before}"


def test_gochan_demos_do_not_import_the_producer() -> None:
    """The lower layer stands on its own: no demo of gochan's loads ``producer``."""
    modules = ", ".join(f"gochan.demos.{name.replace('-', '_')}" for name in DEMOS)
    code = (f"import sys, gochan.demos.__main__, {modules}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('producer', 'kafka')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout == "[]\n"
