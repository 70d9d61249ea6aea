"""Goroutine dumps: every thread described as Go's traceback describes a goroutine.

One entry per thread::

    goroutine 6 "goroutine-6 worker" [chan receive, 2.0s]:
      on <Chan cap=0 len=0 open made at app.py:15>
      File "app.py", line 10, in worker
        for v in ch:
    created by main at app.py:19

The state in brackets is ``running`` or the op the thread is parked in (the
registry's text: ``chan send``, ``chan receive``, ``select``, ``WaitGroup.wait``,
``chan receive (nil chan)``, ...) with how long it has waited; then the objects it
waits on, its stack (user frames only: gochan's own frames and ``threading``'s
bootstrap are left out, most recent call last, as in a Python traceback) and, for
a goroutine, where it was created. The deadlock report, the stall warnings, the
leak checker and :func:`dump` all print these entries.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from types import FrameType
from typing import Any

from ._goroutine import Goroutine, goroutines
from ._registry import Blocked, blocked_snapshot

__all__ = ["describe", "dump", "install_dump_handler", "user_frames", "verify_none"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_DEMOS_DIR = _PACKAGE_DIR + "demos" + os.sep  # user programs that happen to ship with gochan
_THREADING_FILE = threading.__file__
_BOOTSTRAP = frozenset({"_bootstrap", "_bootstrap_inner", "run"})


def _internal(frame: FrameType) -> bool:
    """Whether ``frame`` is gochan's own code (its demos are not) or a thread's bootstrap."""
    filename = frame.f_code.co_filename
    if filename.startswith(_PACKAGE_DIR):
        return not filename.startswith(_DEMOS_DIR)
    return filename == _THREADING_FILE and frame.f_code.co_name in _BOOTSTRAP


def user_frames(frame: FrameType | None, limit: int | None = None) -> traceback.StackSummary:
    """The user-level stack from ``frame`` outwards, most recent call last.

    gochan's own frames and ``threading``'s bootstrap frames are skipped; ``limit``
    keeps only the innermost ``limit`` frames.
    """
    kept: list[traceback.FrameSummary] = []
    while frame is not None:
        if not _internal(frame):
            code = frame.f_code
            kept.append(traceback.FrameSummary(code.co_filename, frame.f_lineno, code.co_name))
            if limit is not None and len(kept) >= limit:
                break
        frame = frame.f_back
    kept.reverse()
    return traceback.StackSummary.from_list(kept)


def call_site(frame: FrameType | None) -> str:
    """``file:line: source`` of the innermost user frame (the blocked call), or ``?``."""
    stack = user_frames(frame, limit=1)
    if not stack:
        return "?"
    top = stack[-1]
    source = f": {top.line}" if top.line else ""
    return f"{top.filename}:{top.lineno}{source}"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}s"


def who(name: str, goroutine: Goroutine | None) -> str:
    """``goroutine 6 "goroutine-6 worker"`` or ``thread "MainThread"``."""
    if goroutine is not None:
        return f'goroutine {goroutine.id} "{name}"'
    return f'thread "{name}"'


def waits_on(record: Blocked) -> str:
    """What a blocked op waits on: ``<Chan ...>``, or ``recv <Chan ...>, send <Chan ...>``."""
    if _single(record):
        return repr(record.cases[0][1])
    return ", ".join(f"{kind} {obj!r}" for kind, obj in record.cases)


def _single(record: Blocked) -> bool:
    return len(record.cases) == 1 and not record.op.startswith("select")


def describe(
    name: str,
    *,
    record: Blocked | None,
    goroutine: Goroutine | None,
    frame: FrameType | None,
    now: float,
    limit: int | None = None,
) -> str:
    """One dump entry: header with state, what it waits on, stack, ``created by``."""
    if record is not None:
        state = f"{record.op}, {_duration(now - record.since)}"
        if record.timeout is not None:
            state += f", timeout {record.timeout:g}s"
        if record.frame is not None:
            frame = record.frame
    else:
        state = "running"
    lines = [f"{who(name, goroutine)} [{state}]:"]
    if record is not None and record.cases:
        if _single(record):
            lines.append(f"  on {record.cases[0][1]!r}")
        else:
            lines.extend(f"  case {kind} {obj!r}" for kind, obj in record.cases)
    for summary in user_frames(frame, limit):
        lines.append(f'  File "{summary.filename}", line {summary.lineno}, in {summary.name}')
        if summary.line:
            lines.append(f"    {summary.line}")
    if goroutine is not None:
        lines.append(f"created by {goroutine.created_by}")
    return "\n".join(lines)


def infrastructure_idents() -> set[int]:
    """Idents of gochan's own threads (the watchdog and the timer scheduler)."""
    return {
        t.ident
        for t in threading.enumerate()
        if t.ident is not None and t.name in ("gochan-watchdog", "gochan-timers")
    }


def dump() -> str:
    """A goroutine dump, Go's SIGQUIT traceback: every thread, its state and its stack.

    Lists the main thread first, then every goroutine (by id), then every other
    thread: each with its state (``running``, or the gochan op it is blocked in
    and for how long), what it waits on, its user-level stack (from
    ``sys._current_frames()``) and, for goroutines, ``created by``. gochan's own
    threads (the watchdog, the timer scheduler) are left out.
    :func:`gochan.wait_graph` draws the same moment as a wait-for graph.
    """
    now = time.monotonic()
    frames = sys._current_frames()
    blocked = {record.ident: record for record in blocked_snapshot()}
    by_ident = {g.thread.ident: g for g in goroutines()}
    skip = infrastructure_idents()
    main = threading.main_thread()
    threads = [t for t in threading.enumerate() if t.ident is not None and t.ident not in skip]

    def order(thread: threading.Thread) -> tuple[int, float]:
        if thread is main:
            return (0, 0)
        goroutine = by_ident.get(thread.ident)
        if goroutine is not None:
            return (1, goroutine.id)
        return (2, 0)

    threads.sort(key=order)
    entries = []
    for thread in threads:
        ident = thread.ident
        assert ident is not None
        entries.append(
            describe(
                thread.name,
                record=blocked.get(ident),
                goroutine=by_ident.get(ident),
                frame=frames.get(ident),
                now=now,
            )
        )
    count = sum(1 for t in threads if t.ident in by_ident)
    header = f"gochan dump: {count} goroutine(s), {len(threads)} thread(s), {len(blocked)} blocked"
    return "\n\n".join([header, *entries]) + "\n"


def install_dump_handler(signum: int | None = None) -> Any:
    """Print :func:`dump` to stderr on signal ``signum`` (default ``SIGQUIT``, Ctrl-\\\\).

    Like Go's SIGQUIT traceback, but the program keeps running. Returns the
    previous handler, so ``signal.signal(signum, previous)`` restores it. Call it
    from the main thread (Python's rule for signal handlers).
    """
    if signum is None:
        signum = getattr(signal, "SIGQUIT", None) or getattr(signal, "SIGBREAK")  # noqa: B009

    def handler(received: int, frame: FrameType | None) -> None:
        sys.stderr.write(dump())
        sys.stderr.flush()

    handler.gochan_dump_handler = True  # type: ignore[attr-defined]  # wakes nobody
    return signal.signal(signum, handler)


def _describe_goroutine(goroutine: Goroutine, now: float) -> str:
    ident = goroutine.thread.ident
    record = next((b for b in blocked_snapshot() if b.ident == ident), None)
    frame = sys._current_frames().get(ident) if ident is not None else None
    return describe(goroutine.name, record=record, goroutine=goroutine, frame=frame, now=now)


def verify_none(timeout: float = 2.0, *, ignore: Iterable[Goroutine] = ()) -> None:
    """Check that no goroutine is running, like goleak's ``VerifyNone``.

    Goroutines in ``ignore`` (e.g. a baseline taken with ``gochan.goroutines()``)
    and the calling goroutine do not count. Goroutines still winding down get time
    to exit: the check is retried with goleak's schedule (sleep 1 µs, doubling up
    to 100 ms) until ``timeout`` seconds have passed.

    Raises:
        AssertionError: goroutines are still running; the message starts with
            ``found unexpected goroutines:`` and holds a dump entry for each.
    """
    ignored = {g.id for g in ignore}
    me = threading.get_ident()
    deadline = time.monotonic() + timeout
    delay = 1e-6
    while True:
        leaked = [g for g in goroutines() if g.id not in ignored and g.thread.ident != me]
        if not leaked:
            return
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.1)
    now = time.monotonic()
    entries = [_describe_goroutine(g, now) for g in leaked if g.is_alive()]
    if not entries:
        return
    raise AssertionError("found unexpected goroutines:\n\n" + "\n\n".join(entries))
