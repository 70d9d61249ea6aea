"""The weighted semaphore (``gochan/_semaphore.py``), Go's ``x/sync/semaphore``."""

from __future__ import annotations

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import (
    Canceled,
    DeadlineExceeded,
    Panic,
    Weighted,
    background,
    with_cancel,
    with_timeout,
)


def test_try_acquire_until_full_then_release() -> None:
    sem = Weighted(3)
    assert sem.try_acquire(2)
    assert sem.try_acquire()
    assert not sem.try_acquire()
    sem.release(2)
    assert sem.try_acquire(2)
    assert not sem.try_acquire(1)
    sem.release(3)


def test_acquire_blocks_until_units_are_released() -> None:
    sem = Weighted(2)
    sem.acquire(background(), 2)
    a = spawn(sem.acquire, background(), 1)
    wait_blocked(1, op="semacquire", chan=sem)
    assert not a.done
    sem.release(1)
    a.result()
    assert not sem.try_acquire()
    sem.release(2)


def test_acquire_raises_ctx_err_when_context_ends_first() -> None:
    sem = Weighted(1)
    sem.acquire(background())
    ctx, cancel = with_cancel(background())
    a = spawn(sem.acquire, ctx)
    wait_blocked(1, op="semacquire", chan=sem)
    cancel()
    a.join()
    assert isinstance(a.error, Canceled)
    assert a.error == Canceled
    sem.release()
    assert sem.try_acquire()  # the cancelled acquire took nothing
    sem.release()


def test_acquire_deadline_exceeded() -> None:
    sem = Weighted(1)
    sem.acquire(background())
    ctx, cancel = with_timeout(background(), 0.05)
    with pytest.raises(DeadlineExceeded):
        sem.acquire(ctx)
    cancel()
    sem.release()


def test_acquire_with_done_context_and_no_room_raises_at_once() -> None:
    sem = Weighted(1)
    sem.acquire(background())
    ctx, cancel = with_cancel(background())
    cancel()
    with pytest.raises(Canceled, match="context canceled"):
        sem.acquire(ctx)
    sem.release()


def test_request_larger_than_size_blocks_until_context_ends() -> None:
    sem = Weighted(2)
    ctx, cancel = with_cancel(background())
    a = spawn(sem.acquire, ctx, 3)
    wait_blocked(1, op="semacquire", chan=sem)
    assert not a.done
    cancel()
    a.join()
    assert isinstance(a.error, Canceled)
    assert sem.try_acquire(2)  # it did not hold up anybody
    sem.release(2)


def test_release_more_than_held_panics() -> None:
    sem = Weighted(2)
    with pytest.raises(Panic, match="semaphore: released more than held"):
        sem.release()
    sem.acquire(background())
    with pytest.raises(Panic, match="semaphore: released more than held"):
        sem.release(2)
    sem.release()


def test_waiters_are_fifo_without_barging() -> None:
    sem = Weighted(3)
    sem.acquire(background(), 2)  # one unit free
    big = spawn(sem.acquire, background(), 3)
    wait_blocked(1, op="semacquire", chan=sem)
    small = spawn(sem.acquire, background(), 1)
    wait_blocked(2, op="semacquire", chan=sem)
    # The free unit is not handed to the small request behind the big one...
    assert not small.done
    # ...and try_acquire fails while anybody waits.
    assert not sem.try_acquire(1)
    sem.release(2)
    big.result()
    assert not small.done
    sem.release(3)
    small.result()
    sem.release(1)


def test_cancelled_head_waiter_lets_the_next_ones_in() -> None:
    sem = Weighted(2)
    sem.acquire(background(), 1)  # one unit free
    ctx, cancel = with_cancel(background())
    head = spawn(sem.acquire, ctx, 2)
    wait_blocked(1, op="semacquire", chan=sem)
    nxt = spawn(sem.acquire, background(), 1)
    wait_blocked(2, op="semacquire", chan=sem)
    cancel()
    head.join()
    assert isinstance(head.error, Canceled)
    nxt.result()  # the unit that was free all along
    sem.release(2)


def test_release_wakes_every_waiter_that_fits() -> None:
    sem = Weighted(3)
    sem.acquire(background(), 3)
    waiters = []
    for i in range(3):
        waiters.append(spawn(sem.acquire, background(), 1))
        wait_blocked(i + 1, op="semacquire", chan=sem)
    sem.release(3)
    for w in waiters:
        w.result()
    sem.release(3)


@pytest.mark.parametrize("bad", [-1, 1.5])
def test_invalid_sizes_and_weights(bad: object) -> None:
    with pytest.raises(ValueError):
        Weighted(bad)  # type: ignore[arg-type]
    sem = Weighted(1)
    with pytest.raises(ValueError):
        sem.try_acquire(bad)  # type: ignore[arg-type]


def test_acquire_with_a_context_already_done_fails_even_when_units_are_free() -> None:
    """Current x/sync: ctx being done "happened before" the acquire."""
    from gochan import Canceled, Weighted, background, with_cancel

    sem = Weighted(2)
    ctx, cancel = with_cancel(background())
    cancel()
    with pytest.raises(Canceled):
        sem.acquire(ctx)
    assert sem.try_acquire(2)  # nothing was taken
