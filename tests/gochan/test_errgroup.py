"""``Group`` (``gochan/_errgroup.py``), Go's ``x/sync/errgroup``."""

from __future__ import annotations

import threading

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import Canceled, Chan, Group, Panic, background, default, select, with_cancel


def test_wait_returns_none_after_every_goroutine_succeeds() -> None:
    g = Group()
    gate: Chan[None] = Chan()
    finished: list[int] = []

    def task(i: int) -> None:
        gate.recv()
        finished.append(i)

    for i in range(3):
        g.go(lambda i=i: task(i))
    w = spawn(g.wait)
    wait_blocked(1, op="WaitGroup.wait")
    for _ in range(3):
        assert not w.done
        gate.send(None)
    assert w.result() is None
    assert sorted(finished) == [0, 1, 2]


def test_wait_returns_the_first_error() -> None:
    g = Group()
    first_failed: Chan[None] = Chan()
    e1, e2 = ValueError("first"), KeyError("second")

    def fail_first() -> None:
        try:
            raise e1
        finally:
            first_failed.close()

    def fail_second() -> None:
        first_failed.recv()
        raise e2

    g.go(fail_second)
    g.go(fail_first)
    assert g.wait() is e1


def test_error_returned_as_a_value_counts() -> None:
    g = Group()
    err = RuntimeError("returned")
    g.go(lambda: err)
    assert g.wait() is err


def test_with_context_cancels_derived_context_on_first_error() -> None:
    g, ctx = Group.with_context(background())
    assert ctx.err() is None
    seen: list[object] = []

    def watcher() -> None:
        ctx.done().recv()
        seen.append(ctx.err())

    def failer() -> None:
        raise ValueError("boom")

    g.go(watcher)
    wait_blocked(1, op="chan receive", chan=ctx.done())
    g.go(failer)
    err = g.wait()
    assert isinstance(err, ValueError)
    assert seen == [Canceled]


def test_with_context_cancels_derived_context_when_wait_returns() -> None:
    g, ctx = Group.with_context(background())
    g.go(lambda: None)
    assert g.wait() is None
    assert select(ctx.done().recv, default)[0] == 0
    assert ctx.err() == Canceled


def test_with_context_follows_parent_cancel() -> None:
    parent, cancel = with_cancel(background())
    g, ctx = Group.with_context(parent)
    g.go(lambda: ctx.done().recv())
    cancel()
    assert g.wait() is None


def test_set_limit_bounds_running_goroutines() -> None:
    g = Group()
    g.set_limit(2)
    gate: Chan[None] = Chan()
    lock = threading.Lock()
    running = [0, 0]  # now, max

    def task() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        gate.recv()
        with lock:
            running[0] -= 1

    g.go(task)
    g.go(task)
    third = spawn(g.go, task)  # blocks: the limit is reached
    wait_blocked(1, op="chan send")
    assert not third.done
    for _ in range(3):
        gate.send(None)
    third.result()
    assert g.wait() is None
    assert running[1] == 2


def test_set_limit_while_active_panics() -> None:
    g = Group()
    g.set_limit(1)
    gate: Chan[None] = Chan()
    g.go(gate.recv)
    with pytest.raises(Panic, match="errgroup: modify limit while 1 goroutines"):
        g.set_limit(2)
    gate.send(None)
    assert g.wait() is None
    g.set_limit(-1)  # no goroutine running: allowed; negative means no limit
