"""Parking records: how a blocked operation waits and how it is woken, exactly once.

A :class:`Waiter` is Go's ``sudog`` group: one per blocked operation (a single send
or receive, or a whole ``select``). It is queued on every channel the operation waits
on, through one :class:`Entry` per case. Whoever completes the operation (a sender,
a receiver, ``close``, a timeout, the deadlock detector, an asyncio cancellation)
must first win :meth:`Waiter.claim`, a non-blocking test-and-set; losers treat the
entry as stale and move on. The winner fills in the result and calls :meth:`wake`.

The claim is the only arbitration: nobody ever takes another waiter's lock while
holding a channel lock, so there are no lock-order cycles between selects (the
ABBA deadlock that crossed selects cause in other ports cannot happen here).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Protocol

__all__ = ["Entry", "Lock", "Waiter", "new_lock", "unlink"]


class Lock(Protocol):
    """What gochan needs of a lock: ``threading.Lock``'s calls, no owner."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...
    def release(self) -> None: ...
    def locked(self) -> bool: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _lock_type() -> Callable[[], Lock]:
    """The lock of channels and waiters: ``threading.Lock`` in the pure build; in the
    compiled build (this module compiled as ``gochan._native._waiter``) the C lock of
    ``gochan/_native/_lock.c``, whose uncontended acquire and release are one atomic
    instruction each (threading.Lock's parse their arguments and read the clock)."""
    if __name__.startswith("gochan._native."):
        from gochan._native._lock import Lock as NativeLock

        return NativeLock
    return threading.Lock


# A new unlocked lock: channels, waiters' claim and park locks (_chan, _aio, _select).
new_lock: Final = _lock_type()

# gochan.trace's wake hook: called in the waker's thread, with the waiter, just before
# the owner is woken (so the hand-off is recorded before the owner can resume). None
# unless a trace is recording; wake() only runs when somebody parked, never on a fast path.
wake_hook: Callable[[Waiter], None] | None = None


class Waiter:
    """One blocked operation, parked on a lock of its own.

    Fields written by the claimer before :meth:`wake`, read by the owner after:
    ``index`` (the case that ran), ``value`` (the value received), ``ok`` (``True``
    for a real transfer, ``False`` when woken by ``close``) and ``error`` (an
    exception the owner must raise, e.g. ``Deadlock``).
    """

    __slots__ = ("_claim", "_park", "entries", "error", "index", "ok", "value")

    def __init__(self) -> None:
        # _claim: acquired (non-blocking) by whoever completes the operation.
        self._claim = new_lock()
        # _park: held from birth; released exactly once, by the claimer, to wake the owner.
        self._park = new_lock()
        self._park.acquire()
        self.entries: list[Entry] = []
        self.index = -1
        self.value: Any = None
        self.ok = False
        self.error: BaseException | None = None

    def claim(self) -> bool:
        """Try to become the one party that completes this operation."""
        return self._claim.acquire(False)

    @property
    def claimed(self) -> bool:
        """Whether somebody has claimed this waiter (it is then stale in every queue)."""
        return self._claim.locked()

    def wake(self) -> None:
        """Wake the owner. Only the claimer calls it, once."""
        hook = wake_hook
        if hook is not None:
            hook(self)
        self._park.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Park the calling thread until woken; ``False`` when ``timeout`` ran out first."""
        if timeout is None:
            return self._park.acquire()
        return self._park.acquire(True, max(timeout, 0.0))


class Entry:
    """A waiter's place in one channel queue: which case it is, and the value it sends.

    ``lock`` and ``queue`` are the channel's lock and the deque the entry sits in, so
    the owner can unlink it without knowing which kind of channel it waited on.
    """

    __slots__ = ("index", "lock", "queue", "value", "waiter")

    def __init__(
        self,
        waiter: Waiter,
        index: int,
        value: Any,
        lock: Lock,
        queue: deque[Entry],
    ) -> None:
        self.waiter = waiter
        self.index = index
        self.value = value
        self.lock = lock
        self.queue = queue
        waiter.entries.append(self)


def unlink(waiter: Waiter) -> None:
    """Remove the waiter's remaining entries from their queues (Go's select pass 3).

    Entries a claimer already popped are simply gone; the others would otherwise
    stack up on quiet channels.
    """
    entries = waiter.entries
    for entry in entries:
        with entry.lock:
            try:
                entry.queue.remove(entry)
            except ValueError:
                pass
    # Waiter and entries reference each other: break the cycle so that refcounting
    # frees them at once instead of the cyclic GC (which they would otherwise feed).
    entries.clear()
