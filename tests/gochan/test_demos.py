"""``python -m gochan.demos`` (``gochan/demos/``): each demo run as its users run it, in a
subprocess, with its outcome checked; then in-process, where it must leave no thread."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gochan.demos import DEMOS, load, summary
from gochan.demos.__main__ import main
from producer.testing import KafkaCluster

REPO = Path(__file__).resolve().parents[2]
PRODUCER_DEMOS = {"successes-not-read", "async-close-without-drain"}


def demo(name: str | None, bootstrap: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gochan.demos [NAME]`` as a user runs it; the session broker for the producer."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    if bootstrap is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    args = [sys.executable, "-m", "gochan.demos", *([name] if name else [])]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    if name:
        assert out.stdout.startswith(f"== {name}: {summary(name)}\n")
        explanation = (load(name).__doc__ or "").strip().splitlines()[2]
        assert f"\nWhy:\n  {explanation}\n" in out.stdout  # the module docstring
    return out


def test_list() -> None:
    out = demo(None).stdout
    assert out.startswith("python -m gochan.demos NAME runs one of:\n")
    listed = re.findall(r"^  (\S+) +(.+)$", out, re.M)
    assert listed == [(name, summary(name)) for name in DEMOS]
    assert all(summary(name) for name in DEMOS)


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


@pytest.mark.timeout(120)
def test_successes_not_read(kafka_cluster: KafkaCluster) -> None:
    out = demo("successes-not-read", kafka_cluster.bootstrap_servers).stdout
    assert f"broker {kafka_cluster.bootstrap_servers}, from KAFKA_BOOTSTRAP_SERVERS" in out
    # The stall warning names the blocked send, at its line in the demo.
    assert re.search(r'log: WARNING gochan: thread "MainThread" \[chan send\] blocked for '
                     r"1\.\ds on <Chan cap=256 len=256 .*>, at gochan/demos/successes_not_read"
                     r"\.py:\d+: p\.input\(\)\.send\(msg", out)
    assert "AsyncProducer._collect\" [chan send] blocked for" in out  # on successes()
    assert ("input().send() blocked after 1537 messages (gave up after 2.5s): "
            "2*cbs + 4*max(cbs, 1) + 1 = 2*256 + 4*256 + 1 = 1537") in out
    assert "  sent 1537/2000\n" in out  # progress
    assert "2000 acknowledged, 0 failed; the last one is at offset 1999" in out
    assert "2000 sent, no stall; close() returned: every one acknowledged" in out


@pytest.mark.timeout(120)
def test_async_close_without_drain(kafka_cluster: KafkaCluster) -> None:
    out = demo("async-close-without-drain", kafka_cluster.bootstrap_servers).stdout
    assert ("after 3s: successes() closed: False, errors() closed: False, 256 successes "
            "unread, still running: AsyncProducer._dispatch, AsyncProducer._collect, "
            "AsyncProducer._expire_overdue, AsyncProducer._shutdown") in out
    # The stall shows where it is: the result stage's send on the unread successes(),
    # with the hint (the shutdown's wait for it is idle, not reported: issue 14).
    assert re.search(r'AsyncProducer\._collect" \[chan send\] blocked for .*; nobody reads '
                     r"the producer's successes\(\)", out)
    assert "AsyncProducer._shutdown\" [WaitGroup.wait] blocked for" not in out
    assert "500 acknowledged, 0 failed; both closed" in out
    assert "verify_none(): every producer goroutine has exited; producer closed: True" in out
    assert re.search(r"returned after \d+\.\d\ds: all 500 acknowledged, producer closed: True",
                     out)


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
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.broker) if name in PRODUCER_DEMOS else name
    for name in DEMOS])
def test_in_process_leaves_nothing_behind(name: str, request: pytest.FixtureRequest,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """run() in this process: exit code 0, and no thread left (the plugin checks goroutines)."""
    if name in PRODUCER_DEMOS:
        cluster: KafkaCluster = request.getfixturevalue("kafka_cluster")
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    before = _threads()
    started = time.monotonic()
    assert load(name).run() == 0, capsys.readouterr().out
    assert time.monotonic() - started < 60
    deadline = time.monotonic() + 5.0
    while not _threads() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads() <= before, f"threads left behind: {_threads() - before}"
