"""Go's ``golang.org/x/sync/errgroup``: goroutines working on subtasks of one task.

In Python a function "returns an error" by raising an ``Exception`` (or, Go-style,
by returning an exception instance). The first such error is kept and returned
by :meth:`Group.wait`, and cancels the group's context if it has one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._chan import Chan
from ._context import CancelFunc, Context, with_cancel
from ._errors import Panic
from ._goroutine import go
from ._sync import WaitGroup

__all__ = ["Group"]


class Group:
    """Go's ``errgroup.Group``: ``go(f)`` each subtask, then ``wait()`` for the first error.

    The zero value is usable: ``Group()`` has no limit and no context.
    """

    def __init__(self) -> None:
        self._wg = WaitGroup()
        self._lock = threading.Lock()  # guards _err
        self._err: BaseException | None = None
        self._cancel: CancelFunc | None = None
        self._sem: Chan[None] | None = None  # a slot per running goroutine when limited

    @classmethod
    def with_context(cls, ctx: Context) -> tuple[Group, Context]:
        """Go's ``errgroup.WithContext``: the derived context is cancelled by the first
        error or when :meth:`wait` returns."""
        group = cls()
        derived, group._cancel = with_cancel(ctx)
        return group, derived

    def set_limit(self, n: int) -> None:
        """Allow at most ``n`` running goroutines (negative: no limit); ``go`` then blocks.

        Raises:
            Panic: the limit is changed while goroutines of the group are running.
        """
        if self._sem is not None and len(self._sem):
            raise Panic(
                f"errgroup: modify limit while {len(self._sem)} goroutines in the group "
                "are still active"
            )
        self._sem = None if n < 0 else Chan(n)

    def go(self, func: Callable[[], object]) -> None:
        """Run ``func`` in a new goroutine, first waiting for a free slot under the limit."""
        if self._sem is not None:
            self._sem.send(None)
        self._start(func)

    def try_go(self, func: Callable[[], object]) -> bool:
        """Run ``func`` only if the limit allows it now; ``False`` otherwise."""
        if self._sem is not None:
            with self._sem._lock:
                if not self._sem._send_locked(None):
                    return False
        self._start(func)
        return True

    def _start(self, func: Callable[[], object]) -> None:
        def run() -> None:
            try:
                result: Any = func()
                if isinstance(result, BaseException):
                    self._fail(result)
            except Exception as exc:
                self._fail(exc)
            finally:
                if self._sem is not None:
                    self._sem.recv()
                self._wg.done()

        run.__qualname__ = getattr(func, "__qualname__", run.__qualname__)
        self._wg.add(1)  # run() does the matching done()
        go(run)

    def _fail(self, err: BaseException) -> None:
        with self._lock:
            if self._err is not None:
                return
            self._err = err
        if self._cancel is not None:
            self._cancel()

    def wait(self) -> BaseException | None:
        """Wait for every goroutine of the group; return the first error, or ``None``."""
        self._wg.wait()
        if self._cancel is not None:
            self._cancel()
        return self._err
