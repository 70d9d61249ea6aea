"""The registry of blocked operations: who is parked in gochan, on what, and since when.

Every blocking gochan operation (channel send and receive, ``select``,
``WaitGroup.wait``, semaphore acquire, nil-channel waits) parks through
:func:`block`, which records a :class:`Blocked` entry for the calling thread while
it waits. Diagnostics (deadlock reports, stall warnings, goroutine dumps, the leak
checker) read this registry; the fast path of an operation that does not block
never touches it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

from ._waiter import Waiter, unlink

__all__ = ["Blocked", "block", "blocked_snapshot", "caller_frame"]

_get_ident: Final = threading.get_ident
_monotonic: Final = time.monotonic


class Blocked:
    """What one parked thread is waiting for.

    ``op`` is Go's goroutine state text: ``chan send``, ``chan receive``,
    ``select``, ``chan send (nil chan)``, ``chan receive (nil chan)``,
    ``select (no cases)``, ``WaitGroup.wait`` or ``semacquire``. ``cases`` lists
    ``(kind, object)`` pairs (kind is ``send``/``recv``) for the channels involved.
    ``frame`` is the caller's frame: its current line is the blocked call.
    ``timeout`` is the call's own bound (``None``: it waits until woken). ``warned``
    is set by the stall watchdog once it has logged this wait; :data:`resume_hooks`
    then run when the thread resumes.
    """

    __slots__ = ("cases", "frame", "ident", "op", "since", "timeout", "waiter", "warned")

    def __init__(
        self,
        op: str,
        cases: tuple[tuple[str, Any], ...],
        frame: FrameType | None,
        waiter: Waiter,
        timeout: float | None = None,
    ) -> None:
        self.op = op
        self.cases = cases
        self.frame = frame
        self.waiter = waiter
        self.ident = _get_ident()
        self.since = _monotonic()
        self.timeout = timeout
        self.warned = False

    @property
    def thread_name(self) -> str:
        """The parked thread's name, looked up on demand so that parking stays cheap."""
        thread = threading._active.get(self.ident)  # type: ignore[attr-defined]
        return thread.name if thread is not None else f"Thread-{self.ident}"


# Thread ident -> what that thread is blocked on. Single dict operations are atomic
# under the GIL; readers take a snapshot with dict.copy().
_blocked: Final[dict[int, Blocked]] = {}

# Called with the new record each time a thread parks; diagnostics install it.
park_hooks: Final[list[Callable[[Blocked], None]]] = []

# Called with the record when a thread whose record is ``warned`` resumes (never raise).
resume_hooks: Final[list[Callable[[Blocked], None]]] = []

# gochan.trace's resume hook: called with the record whenever a parked thread resumes
# (woken, timed out, or raising). None unless a trace is recording; it parks through
# park_hooks like the other diagnostics.
trace_resume: Callable[[Blocked], None] | None = None


def caller_frame(depth: int = 2) -> FrameType | None:
    """The frame ``depth`` levels above the caller (1 = the caller's caller)."""
    try:
        return sys._getframe(depth)
    except ValueError:
        return None


def block(
    waiter: Waiter,
    op: str,
    cases: tuple[tuple[str, Any], ...],
    frame: FrameType | None,
    timeout: float | None = None,
) -> bool:
    """Park until ``waiter`` is completed; ``False`` if ``timeout`` ran out first.

    On a timeout the caller's own claim withdraws the operation: its entries are
    unlinked and nothing was transferred. If the claim is lost, a waker is already
    completing the operation, so we wait for it (it cannot take long) and report
    success: a value handed over is never lost to a timeout. An ``error`` set by
    the claimer (``Deadlock``) is raised here, after unlinking.
    """
    record = Blocked(op, cases, frame, waiter, timeout)
    ident = record.ident
    _blocked[ident] = record
    try:
        for hook in park_hooks:
            hook(record)
        if not waiter.wait(timeout):
            if waiter.claim():
                unlink(waiter)
                return False
            waiter.wait()
    except BaseException:
        # KeyboardInterrupt in the main thread: withdraw if we still can; otherwise
        # the transfer already happened and we let it finish before propagating.
        if waiter.claim():
            unlink(waiter)
        else:
            waiter.wait()
        raise
    finally:
        del _blocked[ident]
        if record.warned:
            for resumed in resume_hooks:
                resumed(record)
        traced = trace_resume
        if traced is not None:
            traced(record)
    if waiter.error is not None:
        unlink(waiter)
        raise waiter.error
    return True


def blocked_snapshot() -> list[Blocked]:
    """Every currently blocked operation, oldest first."""
    return sorted(_blocked.copy().values(), key=lambda b: b.since)
