"""``WaitGroup`` and ``Once`` (``gochan/_sync.py``)."""

from __future__ import annotations

import threading

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import Chan, Once, Panic, WaitGroup

# -- WaitGroup -------------------------------------------------------------------------


def test_wait_returns_at_once_when_counter_is_zero() -> None:
    wg = WaitGroup()
    assert wg.wait() is True
    assert wg.wait(timeout=0) is True


def test_wait_blocks_until_every_done() -> None:
    wg = WaitGroup()
    release: Chan[None] = Chan()
    wg.add(3)

    def worker() -> None:
        release.recv()
        wg.done()

    workers = [spawn(worker) for _ in range(3)]
    waiter = spawn(wg.wait)
    wait_blocked(1, op="WaitGroup.wait", chan=wg)
    release.send(None)
    release.send(None)
    assert not waiter.done
    release.send(None)
    assert waiter.result() is True
    for w in workers:
        w.result()


def test_wait_releases_every_waiter() -> None:
    wg = WaitGroup()
    wg.add(1)
    waiters = [spawn(wg.wait) for _ in range(4)]
    wait_blocked(4, op="WaitGroup.wait", chan=wg)
    wg.done()
    assert [w.result() for w in waiters] == [True] * 4


def test_wait_timeout_returns_false_and_later_wait_still_works() -> None:
    wg = WaitGroup()
    wg.add(1)
    assert wg.wait(timeout=0.02) is False
    assert wg.wait(timeout=0) is False
    waiter = spawn(wg.wait)
    wait_blocked(1, op="WaitGroup.wait", chan=wg)
    wg.done()
    assert waiter.result() is True


def test_add_negative_delta_counts_down() -> None:
    wg = WaitGroup()
    wg.add(2)
    wg.add(-2)
    assert wg.wait(timeout=0) is True


def test_negative_counter_panics() -> None:
    wg = WaitGroup()
    with pytest.raises(Panic, match="sync: negative WaitGroup counter"):
        wg.done()
    wg.add(1)
    with pytest.raises(Panic, match="sync: negative WaitGroup counter"):
        wg.add(-2)
    wg.done()  # the failed add changed nothing
    assert wg.wait(timeout=0) is True


def test_waitgroup_go_runs_function_and_counts_it() -> None:
    wg = WaitGroup()
    gate: Chan[None] = Chan()
    results: list[int] = []

    def work(x: int, *, y: int) -> None:
        gate.recv()
        results.append(x + y)

    for i in range(3):
        wg.go(work, i, y=10)
    assert wg.wait(timeout=0) is False
    for _ in range(3):
        gate.send(None)
    assert wg.wait(timeout=10)
    assert sorted(results) == [10, 11, 12]


def test_waitgroup_go_counts_done_even_when_function_panics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    wg = WaitGroup()

    def boom() -> None:
        raise RuntimeError("boom")

    g = wg.go(boom)
    assert wg.wait(timeout=10)
    assert g.join(5)


# -- Once ------------------------------------------------------------------------------


def test_once_calls_function_only_the_first_time() -> None:
    once = Once()
    calls: list[int] = []
    for i in range(3):
        once.do(lambda i=i: calls.append(i))
    assert calls == [0]


def test_once_concurrent_callers_wait_for_first_call_to_return() -> None:
    once = Once()
    entered: Chan[None] = Chan()
    release: Chan[None] = Chan()
    calls: list[str] = []

    def slow() -> None:
        calls.append("slow")
        entered.send(None)
        release.recv()

    first = spawn(once.do, slow)
    entered.recv()
    second = spawn(once.do, lambda: calls.append("second"))
    # The second caller cannot return while the first f runs.
    assert not second.goroutine.join(0.05)
    release.send(None)
    first.result()
    second.result()
    assert calls == ["slow"]


def test_once_function_that_raises_still_counts_as_done() -> None:
    once = Once()

    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        once.do(boom)
    calls: list[int] = []
    once.do(lambda: calls.append(1))
    assert calls == []


def test_waitgroup_is_reusable_after_wait_returns() -> None:
    wg = WaitGroup()
    for _ in range(3):
        gate: Chan[None] = Chan()
        wg.add(2)
        wg.go(gate.recv)
        wg.go(gate.recv)
        wg.done()
        wg.done()
        waiter = spawn(wg.wait)
        wait_blocked(1, op="WaitGroup.wait", chan=wg)
        gate.send(None)
        gate.send(None)
        assert waiter.result() is True
