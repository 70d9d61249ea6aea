"""Helpers for the gochan tests: explicit waits instead of sleeps.

``wait_blocked`` polls the registry of blocked operations until the threads we
expect are parked (trio's ``wait_all_tasks_blocked``); ``Spawned`` runs a call in a
goroutine and keeps its result or exception (CPython's ``Bunch``, for one call).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gochan
from gochan._registry import Blocked, blocked_snapshot

__all__ = ["JOIN_TIMEOUT", "Spawned", "spawn", "wait_blocked", "wait_until"]

# Generous: only reached when something is broken; never a sleep in a passing test.
JOIN_TIMEOUT = 10.0


def _matches(blocked: Blocked, op: str | None, chan: object | None) -> bool:
    if op is not None and blocked.op != op:
        return False
    return chan is None or any(obj is chan for _, obj in blocked.cases)


def wait_blocked(
    n: int = 1,
    timeout: float = JOIN_TIMEOUT,
    *,
    op: str | None = None,
    chan: object | None = None,
) -> list[Blocked]:
    """Wait until at least ``n`` operations are parked in gochan; return them.

    ``op`` filters on the registry's state text (``chan send``, ``chan receive``,
    ``select``, ``WaitGroup.wait``, ...), ``chan`` on a channel (or other object)
    the operation waits on. A parked operation is already queued on its channels.
    """
    deadline = time.monotonic() + timeout
    delay = 1e-4
    while True:
        found = [b for b in blocked_snapshot() if _matches(b, op, chan)]
        if len(found) >= n:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"expected {n} blocked operation(s) (op={op!r}, chan={chan!r}) within "
                f"{timeout}s; blocked now: {[(b.op, b.thread_name) for b in blocked_snapshot()]}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def wait_until(predicate: Callable[[], bool], timeout: float = JOIN_TIMEOUT) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 1e-4
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


class Spawned:
    """One call running in a goroutine, with its outcome once it returns."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.goroutine = gochan.go(self._run, func, args, kwargs)

    def _run(self, func: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            self.value = func(*args, **kwargs)
        except BaseException as exc:  # the test inspects it
            self.error = exc

    @property
    def done(self) -> bool:
        """Whether the call has returned (or raised)."""
        return not self.goroutine.is_alive()

    def join(self, timeout: float = JOIN_TIMEOUT) -> Spawned:
        """Wait for the call to finish; fail the test if it does not within ``timeout``."""
        if not self.goroutine.join(timeout):
            raise AssertionError(f"{self.goroutine!r} still running after {timeout}s")
        return self

    def result(self, timeout: float = JOIN_TIMEOUT) -> Any:
        """The call's return value; re-raises its exception."""
        self.join(timeout)
        if self.error is not None:
            raise self.error
        return self.value


def spawn(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Spawned:
    """Run ``func(*args, **kwargs)`` in a goroutine; see :class:`Spawned`."""
    return Spawned(func, *args, **kwargs)
