"""Go's ``golang.org/x/sync/semaphore.Weighted``.

Waiters are served FIFO and a release stops at the first waiter that does not fit,
so a large request is never starved by small ones (no barging). A waiting
``acquire`` is one :class:`Waiter` queued both here (case 0: granted) and on
``ctx.done()`` (case 1: the context ended), so a grant and a cancellation race
through the same claim: exactly one wins.
"""

from __future__ import annotations

import sys
import threading
from collections import deque

from ._context import Context
from ._errors import Panic
from ._registry import block
from ._waiter import Entry, Waiter, unlink

__all__ = ["Weighted"]


class Weighted:
    """A weighted semaphore of ``size`` units, Go's ``semaphore.NewWeighted(n)``.

    Concurrency: ``_lock`` guards ``_cur`` (units held) and ``_waiters`` (FIFO of
    ``(n, waiter)``); a waiter granted by ``release`` already holds its units when
    it wakes.
    """

    def __init__(self, size: int) -> None:
        if type(size) is not int or size < 0:
            raise ValueError(f"semaphore size must be a non-negative int, not {size!r}")
        self._size = size
        self._cur = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[int, Waiter]] = deque()

    def _check(self, n: int) -> None:
        if type(n) is not int or n < 0:
            raise ValueError(f"semaphore weight must be a non-negative int, not {n!r}")

    def acquire(self, ctx: Context, n: int = 1) -> None:
        """Acquire ``n`` units, blocking until they are free or ``ctx`` ends.

        Raises:
            Canceled, DeadlineExceeded: ``ctx.err()`` when the context ended first
                (or had already ended: as current x/sync, even if units were free);
                then nothing was acquired.
        """
        self._check(n)
        done = ctx.done()
        with self._lock:
            # As current x/sync: a context already done fails even if units are free.
            if done.closed:
                err = ctx.err()
                raise err if err is not None else RuntimeError("context ended without an error")
            if self._size - self._cur >= n and not self._waiters:
                self._cur += n
                return
            waiter = Waiter()
            if n <= self._size:
                self._waiters.append((n, waiter))
            # A request larger than the semaphore can only end with the context.
            with done._lock:
                if done._closed:
                    waiter.claim()
                    waiter.index = 1
                else:
                    done._recvq.append(Entry(waiter, 1, None, done._lock, done._recvq))
        if not waiter.claimed or waiter.index != 1:
            block(waiter, "semacquire", (("acquire", self), ("recv", done)), sys._getframe(1))
        unlink(waiter)
        if waiter.index == 0:
            return
        with self._lock:
            self._remove_locked(waiter)
        err = ctx.err()
        raise err if err is not None else RuntimeError("context ended without an error")

    def _remove_locked(self, waiter: Waiter) -> None:
        """Requires: self._lock held. Drop a cancelled waiter; let the next ones in."""
        for i, (_, queued) in enumerate(self._waiters):
            if queued is waiter:
                del self._waiters[i]
                if i == 0:
                    self._notify_locked()
                return

    def try_acquire(self, n: int = 1) -> bool:
        """Acquire ``n`` units only if they are free now and nobody is waiting."""
        self._check(n)
        with self._lock:
            if self._size - self._cur >= n and not self._waiters:
                self._cur += n
                return True
            return False

    def release(self, n: int = 1) -> None:
        """Release ``n`` units and wake the waiters that now fit, in order.

        Raises:
            Panic: ``semaphore: released more than held``.
        """
        self._check(n)
        with self._lock:
            if n > self._cur:
                raise Panic("semaphore: released more than held")
            self._cur -= n
            self._notify_locked()

    def _notify_locked(self) -> None:
        """Requires: self._lock held. Grant units to waiters at the head while they fit."""
        waiters = self._waiters
        while waiters:
            n, waiter = waiters[0]
            if waiter.claimed:
                waiters.popleft()  # its context ended; it removes nothing else
                continue
            if self._size - self._cur < n:
                break
            waiters.popleft()
            if waiter.claim():
                self._cur += n
                waiter.index = 0
                waiter.ok = True
                waiter.wake()

    def __repr__(self) -> str:
        return f"<Weighted {self._cur}/{self._size} held, {len(self._waiters)} waiting>"
