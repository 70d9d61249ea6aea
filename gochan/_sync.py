"""Go's ``sync.WaitGroup`` and ``sync.Once``.

``sync.Mutex`` is Python's own ``threading.Lock``; gochan does not re-implement it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, ParamSpec

from ._errors import Panic
from ._goroutine import Goroutine, go
from ._registry import block
from ._waiter import Waiter

__all__ = ["Once", "WaitGroup"]

P = ParamSpec("P")

NEGATIVE_COUNTER = "sync: negative WaitGroup counter"


class WaitGroup:
    """Go's ``sync.WaitGroup``: wait for a collection of goroutines to finish.

    Concurrency: ``_lock`` guards the counter and the parked waiters; when the
    counter reaches zero every waiter is woken (each parks on its own lock).
    """

    __slots__ = ("_count", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._waiters: list[Waiter] = []

    def add(self, delta: int = 1) -> None:
        """Add ``delta`` (may be negative) to the counter; at zero, release all waiters.

        Raises:
            Panic: ``sync: negative WaitGroup counter``.
        """
        with self._lock:
            count = self._count + delta
            if count < 0:
                raise Panic(NEGATIVE_COUNTER)
            self._count = count
            if count or not self._waiters:
                return
            woken, self._waiters = self._waiters, []
        for waiter in woken:
            if waiter.claim():
                waiter.ok = True
                waiter.wake()

    def done(self) -> None:
        """Decrement the counter by one (``add(-1)``)."""
        self.add(-1)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the counter is zero; ``False`` if ``timeout`` (seconds) ran out first."""
        with self._lock:
            if self._count == 0:
                return True
            waiter = Waiter()
            self._waiters.append(waiter)
        if block(waiter, "WaitGroup.wait", (("wait", self),), sys._getframe(1), timeout):
            return True
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return False

    def go(self, func: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> Goroutine:
        """Go 1.25's ``wg.Go(f)``: ``add(1)``, run ``func`` in a goroutine, ``done()`` after."""
        self.add(1)

        def run() -> None:
            try:
                func(*args, **kwargs)
            finally:
                self.done()

        run.__qualname__ = getattr(func, "__qualname__", run.__qualname__)
        return go(run)

    def __repr__(self) -> str:
        return f"<WaitGroup count={self._count} waiters={len(self._waiters)}>"


class Once:
    """Go's ``sync.Once``: ``do(f)`` calls ``f`` only the first time.

    Concurrent callers wait until that first call returns. If ``f`` raises, the
    exception propagates to its caller and ``f`` still counts as done, as in Go.
    """

    __slots__ = ("_done", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held while the first f runs
        self._done = False

    def _finished(self) -> bool:
        return self._done

    def do(self, func: Callable[[], Any]) -> None:
        """Call ``func()`` if no earlier ``do`` has."""
        if self._done:
            return
        with self._lock:
            if self._finished():
                return
            try:
                func()
            finally:
                self._done = True
