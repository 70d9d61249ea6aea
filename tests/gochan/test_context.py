"""Contexts (``gochan/_context.py``): cancellation, deadlines, values."""

from __future__ import annotations

import time

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import (
    Canceled,
    Chan,
    Context,
    DeadlineExceeded,
    WouldBlock,
    background,
    default,
    nilchan,
    select,
    with_cancel,
    with_deadline,
    with_timeout,
    with_value,
)

D = 0.05
LATE = 2.0


def is_done(ctx: Context) -> bool:
    index, _ = select(ctx.done().recv, default)
    return index == 0


# -- context.Background() --------------------------------------------------------------


def test_background_is_never_done() -> None:
    ctx = background()
    assert isinstance(ctx, Context)
    assert not is_done(ctx)
    assert ctx.done() is nilchan
    assert ctx.err() is None
    assert ctx.value("k") is None
    assert ctx.deadline() == (None, False)
    assert background() is ctx


# -- context.WithCancel ----------------------------------------------------------------


def test_with_cancel_done_closes_on_cancel() -> None:
    ctx, cancel = with_cancel(background())
    assert not is_done(ctx)
    assert ctx.err() is None
    cancel()
    assert is_done(ctx)
    assert ctx.done().recv_ok() == (None, False)  # closed, not sent to
    assert ctx.err() == Canceled
    assert str(ctx.err()) == "context canceled"
    assert isinstance(ctx.err(), Canceled)


def test_cancel_is_idempotent() -> None:
    ctx, cancel = with_cancel(background())
    cancel()
    cancel()
    assert ctx.err() == Canceled


def test_cancel_wakes_parked_receivers_and_selects() -> None:
    ctx, cancel = with_cancel(background())
    work: Chan[int] = Chan()
    r = spawn(ctx.done().recv_ok)
    s = spawn(select, work.recv, ctx.done().recv)
    wait_blocked(1, op="chan receive", chan=ctx.done())
    wait_blocked(1, op="select", chan=ctx.done())
    cancel()
    assert r.result() == (None, False)
    assert s.result() == (1, None)


def test_parent_cancel_propagates_to_descendants() -> None:
    parent, cancel_parent = with_cancel(background())
    child, cancel_child = with_cancel(parent)
    grandchild, cancel_grandchild = with_cancel(with_value(child, "k", "v"))
    cancel_parent()
    for ctx in (parent, child, grandchild):
        assert is_done(ctx)
        assert ctx.err() == Canceled
    cancel_child()
    cancel_grandchild()


def test_child_cancel_does_not_affect_parent() -> None:
    parent, cancel_parent = with_cancel(background())
    child, cancel_child = with_cancel(parent)
    sibling, cancel_sibling = with_cancel(parent)
    cancel_child()
    assert is_done(child)
    assert not is_done(parent)
    assert not is_done(sibling)
    cancel_parent()
    assert is_done(sibling)
    cancel_sibling()


def test_with_cancel_of_cancelled_parent_is_done_at_once() -> None:
    parent, cancel_parent = with_cancel(background())
    cancel_parent()
    child, cancel_child = with_cancel(parent)
    assert is_done(child)
    assert child.err() == Canceled
    cancel_child()


def test_with_cancel_requires_a_context() -> None:
    with pytest.raises(TypeError):
        with_cancel(None)  # type: ignore[arg-type]


# -- context.WithTimeout / WithDeadline --------------------------------------------------


def test_with_timeout_ends_with_deadline_exceeded() -> None:
    start = time.monotonic()
    ctx, cancel = with_timeout(background(), D)
    assert not is_done(ctx)
    assert ctx.done().recv_ok(timeout=LATE) == (None, False)
    assert time.monotonic() - start >= D - 0.005
    assert ctx.err() == DeadlineExceeded
    assert ctx.err() != Canceled
    assert str(ctx.err()) == "context deadline exceeded"
    cancel()
    assert ctx.err() == DeadlineExceeded  # a later cancel changes nothing


def test_with_timeout_cancel_first_gives_canceled() -> None:
    ctx, cancel = with_timeout(background(), 10.0)
    cancel()
    assert is_done(ctx)
    assert ctx.err() == Canceled


def test_with_deadline_in_the_past_is_done_at_once() -> None:
    ctx, cancel = with_deadline(background(), time.time() - 1)
    assert is_done(ctx)
    assert ctx.err() == DeadlineExceeded
    cancel()


def test_with_deadline_reports_deadline() -> None:
    t = time.time() + 10
    ctx, cancel = with_deadline(background(), t)
    try:
        assert ctx.deadline() == (t, True)
        child, cancel_child = with_deadline(ctx, t + 100)  # later: the parent's wins
        assert child.deadline() == (t, True)
        cancel_child()
    finally:
        cancel()


def test_parent_deadline_propagates_to_child() -> None:
    parent, cancel_parent = with_timeout(background(), D)
    child, cancel_child = with_cancel(parent)
    assert child.done().recv_ok(timeout=LATE) == (None, False)
    assert child.err() == DeadlineExceeded
    cancel_child()
    cancel_parent()


def test_select_on_done_as_a_timeout() -> None:
    ctx, cancel = with_timeout(background(), D)
    never: Chan[int] = Chan()
    assert select(never.recv, ctx.done().recv) == (1, None)
    cancel()


# -- context.WithValue -----------------------------------------------------------------


def test_with_value_lookup_and_shadowing() -> None:
    base = with_value(background(), "a", 1)
    ctx, cancel = with_cancel(base)
    ctx = with_value(with_value(ctx, "b", 2), "a", 3)
    assert ctx.value("a") == 3
    assert ctx.value("b") == 2
    assert ctx.value("missing") is None
    assert base.value("a") == 1
    assert base.value("b") is None
    cancel()
    assert ctx.err() == Canceled  # done and err come from the parent
    assert is_done(ctx)


def test_with_value_of_background_is_never_done() -> None:
    ctx = with_value(background(), "k", "v")
    with pytest.raises(WouldBlock):
        ctx.done().try_recv()
    assert ctx.err() is None
