"""Deadlock detection and stall warnings: Go's ``checkdead`` and a watchdog for stuck pipelines.

One daemon thread, ``gochan-watchdog``, does both. It does not exist until some
thread parks in gochan: the first park starts it (a hook in ``block()``), and it
exits after :data:`IDLE_EXIT` seconds with nothing parked. While nothing is
parked (at two looks in a row) it sleeps on an event that only a park sets, so
parks in a busy program rarely pay for waking it; while something is parked it
wakes when the oldest wait reaches :data:`CHECK_AFTER` seconds, or a stall warning
falls due, and backs off to :data:`MAX_CHECK_INTERVAL` while the program keeps
running. An operation that never blocks never meets it.

Deadlock (on by default; ``set_deadlock_detection(False)`` or ``GOCHAN_DEADLOCK=0``
turns it off). The process is deadlocked when:

- every live thread (``threading.enumerate()`` and ``sys._current_frames()``, less
  the watchdog, an idle timer thread, and the main thread once it has returned) is
  parked in gochan, without a timeout, and nobody has claimed its waiter yet;
- no gochan timer is pending (a timer could still wake someone);
- a second look :data:`CONFIRM_AFTER` seconds later sees the very same waits.

Any other thread (sleeping, computing, in I/O, a plain ``threading.Thread`` that
might send later) means "not deadlocked", and so does a Python signal handler
(a ``SIGTERM`` handler that closes a channel to shut down is a waker, like Go's
``signal.Notify``), except for ``SIGALRM`` (test timeouts such as pytest-timeout
arm it), Python's default ``SIGINT`` handler and gochan's dump handler. Then the
blocked call of the main thread (or, if the main thread is not among them, the
oldest blocked call) raises :class:`~gochan.Deadlock`, whose message is the
report: ``all goroutines are asleep - deadlock!`` and a dump entry per blocked
thread (see ``_dump.py``). Only the
interpreter's own threads can be seen: a native thread of a C extension that
calls into Python only now and then is invisible between calls.

Stall warnings (on by default, 5 s; ``set_stall_warning(seconds or None)`` or
``GOCHAN_STALL_WARNING=seconds``, ``0`` = off): a thread parked on one operation
for longer than the threshold gets one warning on the ``gochan`` logger, naming
the op, its channels and the call site, and one more when it resumes. An idle
consumer waiting for work is parked too: wrap such a worker's loop in
:func:`idle_waits` (its receives then never warn, its sends still do), or raise
the threshold. :func:`set_stall_hint` gives a channel a sentence that a warning
about a send stalled on it adds: who should be reading it and what to do.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ._chan import Chan
from ._dump import call_site, describe, infrastructure_idents, waits_on, who
from ._errors import Deadlock
from ._goroutine import _live
from ._registry import Blocked, _blocked, park_hooks, resume_hooks
from ._timer import pending_timers
from ._waitgraph import WaitGraph, build

__all__ = ["deadlock_report", "idle_waits", "set_deadlock_detection", "set_stall_hint",
           "set_stall_warning"]

log = logging.getLogger("gochan")

CHECK_AFTER = 0.1  # seconds the oldest wait must last before a deadlock check
CONFIRM_AFTER = 0.05  # the second look, which must see the same waits
MAX_CHECK_INTERVAL = 1.0  # checks back off to this while some thread keeps running
IDLE_EXIT = 1.0  # the watchdog exits after this long with nothing parked
DEFAULT_STALL_WARNING = 5.0
STACK_LIMIT = 5  # user frames per thread in a deadlock report
HEADER = "all goroutines are asleep - deadlock!"

_OFF = ("0", "false", "no", "off")
_SIGALRM = getattr(signal, "SIGALRM", None)


def _env_detection() -> bool:
    return os.environ.get("GOCHAN_DEADLOCK", "").strip().lower() not in _OFF


def _env_stall() -> float | None:
    raw = os.environ.get("GOCHAN_STALL_WARNING", "").strip().lower()
    if not raw:
        return DEFAULT_STALL_WARNING
    if raw in _OFF:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        log.warning("GOCHAN_STALL_WARNING=%r is not a number of seconds; using %ss",
                    raw, DEFAULT_STALL_WARNING)
        return DEFAULT_STALL_WARNING
    return seconds if seconds > 0 else None


_detect = _env_detection()
_stall = _env_stall()

# _lock guards _thread: the watchdog is started and retired under it.
_lock = threading.Lock()
_thread: threading.Thread | None = None
# True while the watchdog sleeps with nothing parked: a park then sets _wake.
_idle = False
_wake = threading.Event()
# _warn_lock orders each stall warning before its resume message; _logged holds
# the id() of every record warned about whose thread has not resumed yet.
_warn_lock = threading.Lock()
_logged: set[int] = set()
# Thread ident -> how many idle_waits() blocks it is in (only its own thread writes it).
_idle_threads: dict[int, int] = {}


# -- the park hook (runs in the parking thread) ------------------------------------------


def _on_park(record: Blocked | None) -> None:
    """Make sure a watchdog is awake. Two global reads when it already is."""
    if _thread is None:
        _start()
    elif _idle:
        _wake.set()


def _start() -> None:
    global _thread
    with _lock:
        if _thread is not None:
            return
        thread = threading.Thread(target=_watch, name="gochan-watchdog", daemon=True)
        _thread = thread
        try:
            thread.start()
        except RuntimeError:  # interpreter shutdown: no new threads
            _thread = None


def _on_resume(record: Blocked) -> None:
    """Resume hook: the second message of a stall, logged by the thread that resumed."""
    with _warn_lock:
        if id(record) not in _logged:
            return  # it resumed before the warning went out
        _logged.discard(id(record))
    log.warning(
        "%s [%s] resumed after %.1fs, at %s",
        who(record.thread_name, _live.get(record.ident)),
        record.op,
        time.monotonic() - record.since,
        call_site(record.frame),
    )


def _sync_hooks() -> None:
    wanted = _detect or _stall is not None
    if wanted and _on_park not in park_hooks:
        park_hooks.append(_on_park)
    elif not wanted and _on_park in park_hooks:
        park_hooks.remove(_on_park)
    if wanted and _blocked:
        _on_park(None)  # threads parked before it was switched on


# -- switches ------------------------------------------------------------------------------


def set_deadlock_detection(enabled: bool) -> bool:
    """Turn deadlock detection on or off; returns the previous setting.

    On by default; the environment variable ``GOCHAN_DEADLOCK=0`` turns it off at
    import. When on and every live thread is blocked in gochan with nothing left
    to wake it, the main thread's blocked call raises :class:`~gochan.Deadlock`.
    """
    global _detect
    previous, _detect = _detect, bool(enabled)
    _sync_hooks()
    return previous


def set_stall_warning(seconds: float | None) -> float | None:
    """Warn about operations blocked longer than ``seconds``; ``None`` or ``0`` turns it off.

    Default 5 s (environment variable ``GOCHAN_STALL_WARNING``). Each blocked
    operation gets one warning on the ``gochan`` logger naming the op, the
    channels and the call site, and one more when it resumes. Returns the
    previous threshold.

    Raises:
        ValueError: ``seconds`` is negative.
    """
    global _stall
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"stall warning threshold must be seconds, not {seconds!r}")
        if seconds < 0:
            raise ValueError(f"stall warning threshold must not be negative, not {seconds!r}")
    previous, _stall = _stall, (float(seconds) if seconds else None)
    _sync_hooks()
    return previous


def idle_waits() -> AbstractContextManager[None]:
    """Mark the calling thread's waits for work: no stall warning for them.

    Within ``with gochan.idle_waits():`` a receive, a ``select`` of receives only,
    or a ``WaitGroup.wait`` of this thread is a worker waiting for work, never a
    stall: a pipeline stage idles there whenever its input is quiet. A send still
    warns (that is back-pressure: someone is not reading). Deadlock detection is
    unchanged. Meant for a worker's whole loop: entering and leaving cost a dict
    update each, a wait inside nothing. Nests; thread-safe (per thread).
    """
    return _IdleWaits()


class _IdleWaits:
    """The context manager of :func:`idle_waits`."""

    __slots__ = ("_ident",)

    def __enter__(self) -> None:
        ident = self._ident = threading.get_ident()
        _idle_threads[ident] = _idle_threads.get(ident, 0) + 1

    def __exit__(self, *exc_info: object) -> None:
        ident = self._ident
        depth = _idle_threads[ident] - 1
        if depth:
            _idle_threads[ident] = depth
        else:
            del _idle_threads[ident]


def set_stall_hint(ch: Chan[Any], hint: str | Callable[[], str | None] | None) -> None:
    """Say ``hint`` when a send on ``ch`` stalls: appended to its stall warning.

    ``hint`` is a sentence (who should read ``ch`` and what to do), or a callable
    returning one (or ``None`` for nothing), called by the watchdog when it warns,
    so it can say what the state is then; ``None`` removes it. A hint that raises
    is reported in its place. Receives on ``ch`` never show it.
    """
    if hint is not None and not isinstance(hint, str) and not callable(hint):
        raise TypeError(f"a stall hint is a str, a callable or None, not {type(hint).__name__}")
    ch._stall_hint = hint


def _is_idle(record: Blocked) -> bool:
    """Whether ``record`` is a wait for work inside :func:`idle_waits`."""
    if record.ident not in _idle_threads:
        return False
    cases = record.cases
    return bool(cases) and all(kind in ("recv", "wait") for kind, _ in cases)


def _hints(record: Blocked) -> str:
    """The stall hints of the channels ``record`` is blocked sending on, as a suffix."""
    said = []
    for kind, obj in record.cases:
        hint = obj._stall_hint if kind == "send" and isinstance(obj, Chan) else None
        if callable(hint):
            try:
                hint = hint()
            except Exception as exc:
                hint = f"(the stall hint failed: {exc!r})"
        if hint:
            said.append(str(hint))
    return "".join(f"; {text}" for text in said)


# -- the watchdog ------------------------------------------------------------------------


def _retire() -> bool:
    """Unpublish the watchdog; ``True`` if it may exit, ``False`` if a park raced in.

    A parking thread first registers, then reads ``_thread``: either it sees
    ``None`` and starts a new watchdog, or we see its record here and stay.
    """
    global _thread
    with _lock:
        _thread = None
    if not _blocked:
        return True
    return not _reinstate()


def _reinstate() -> bool:
    """Publish the calling watchdog again, unless a park already started a successor."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.current_thread()
            return True
        return False


def _sleep_idle() -> bool:
    """Sleep until a park (``True``) or :data:`IDLE_EXIT` with nothing parked (``False``)."""
    global _idle
    _wake.clear()
    _idle = True
    try:
        if _blocked:
            return True
        return _wake.wait(IDLE_EXIT) or bool(_blocked)
    finally:
        _idle = False


def _watch() -> None:
    """The watchdog thread. If it ever fails, it says so and the next park starts another."""
    global _thread
    try:
        _watch_loop()
    except Exception:
        log.exception("gochan watchdog failed; a new one starts at the next blocking operation")
        with _lock:
            if _thread is threading.current_thread():
                _thread = None


def _watch_loop() -> None:
    interval = CHECK_AFTER
    suspect: tuple[Blocked, ...] | None = None
    empty_once = False
    while True:
        if not _blocked:
            suspect, interval = None, CHECK_AFTER
            if not empty_once:
                # Stay awake one more period: in a busy program waits come and go,
                # and each park that found us idle would pay for waking us.
                empty_once = True
                time.sleep(CHECK_AFTER)
                continue
            empty_once = False
            if not _sleep_idle() and _retire():
                return
            continue
        empty_once = False
        now = time.monotonic()
        wake_at = now + interval
        records = list(_blocked.copy().values())
        stall = _stall
        if stall is not None:
            for record in records:
                if not record.warned:
                    due = record.since + stall
                    if due <= now:
                        _warn(record, now)
                    else:
                        wake_at = min(wake_at, due)
        if _detect and records:
            oldest = min(record.since for record in records)
            if now - oldest < CHECK_AFTER:
                suspect = None
                wake_at = min(wake_at, oldest + CHECK_AFTER)
            else:
                asleep = _all_asleep()
                if asleep is None:
                    suspect = None
                    interval = min(interval * 2, MAX_CHECK_INTERVAL)
                elif suspect is not None and _same(asleep, suspect):
                    _fire(asleep)
                    suspect, interval = None, CHECK_AFTER
                else:
                    suspect = asleep
                    wake_at = min(wake_at, now + CONFIRM_AFTER)
        time.sleep(max(wake_at - time.monotonic(), 0.005))


def _warn(record: Blocked, now: float) -> None:
    if record.waiter.claimed:
        return  # being woken right now
    if _is_idle(record):
        record.warned = True  # looked at: not again (its resume then finds nothing logged)
        return
    hints = _hints(record)
    with _warn_lock:
        record.warned = True  # from here on its resume runs _on_resume
        if _blocked.get(record.ident) is not record:
            return  # already resumed: no warning, and _on_resume finds nothing
        _logged.add(id(record))
        on = waits_on(record)
        log.warning(
            "%s [%s] blocked for %.1fs%s, at %s%s",
            who(record.thread_name, _live.get(record.ident)),
            record.op,
            now - record.since,
            f" on {on}" if on else "",
            call_site(record.frame),
            hints,
        )


def _signal_may_wake() -> bool:
    """Whether a Python signal handler is installed that could wake a thread."""
    for signum in signal.valid_signals():
        if signum == _SIGALRM:
            continue
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if (
            callable(handler)
            and handler is not signal.default_int_handler
            and not getattr(handler, "gochan_dump_handler", False)
        ):
            return True
    return False


def _all_asleep() -> tuple[Blocked, ...] | None:
    """The waits of every live thread if all are parked for good, else ``None``."""
    if pending_timers():
        return None
    blocked = _blocked.copy()
    # Cheap first: more threads than waits (beyond watchdog, timers, main) is a "no".
    if len(blocked) + 3 < threading.active_count():
        return None
    threads = threading.enumerate()
    idents: set[int | None] = set(sys._current_frames())
    idents.update(t.ident for t in threads)
    idents -= infrastructure_idents()  # no timer is pending, so the timer thread idles
    idents.discard(threading.get_ident())
    main = threading.main_thread()
    if not main.is_alive():
        # main returned: the interpreter waits for non-daemon threads only. If all
        # left are daemons it is exiting anyway (no report); else they hang it.
        if all(t.daemon for t in threads if t is not main):
            return None
        idents.discard(main.ident)
    asleep = []
    for ident in idents:
        record = blocked.get(ident) if ident is not None else None
        if record is None or record.timeout is not None or record.waiter.claimed:
            return None
        asleep.append(record)
    if not asleep or _signal_may_wake():
        return None
    return tuple(sorted(asleep, key=lambda r: r.ident))


def _same(a: tuple[Blocked, ...], b: tuple[Blocked, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def deadlock_report(asleep: tuple[Blocked, ...] | list[Blocked]) -> str:
    """The report for a deadlock among ``asleep``: Go's header, then a dump entry each.

    The main thread comes first, then goroutines by id, then other threads.
    """
    now = time.monotonic()
    main_ident = threading.main_thread().ident

    def order(record: Blocked) -> tuple[int, float]:
        if record.ident == main_ident:
            return (0, 0.0)
        goroutine = _live.get(record.ident)
        if goroutine is not None:
            return (1, goroutine.id)
        return (2, record.since)

    entries = [
        describe(
            record.thread_name,
            record=record,
            goroutine=_live.get(record.ident),
            frame=None,
            now=now,
            limit=STACK_LIMIT,
        )
        for record in sorted(asleep, key=order)
    ]
    return "\n\n".join([HEADER, *entries])


def _fire(asleep: tuple[Blocked, ...]) -> None:
    """Raise ``Deadlock`` in the main thread's wait, or else in the oldest one."""
    main_ident = threading.main_thread().ident
    target = next((r for r in asleep if r.ident == main_ident), None)
    if target is None:
        target = min(asleep, key=lambda r: r.since)
    report = deadlock_report(asleep)
    waiter = target.waiter
    if not waiter.claim():
        return  # somebody completed it after all: not a deadlock
    error = Deadlock(report)
    error.graph = _graph(asleep)
    waiter.error = error
    waiter.wake()


def _graph(asleep: tuple[Blocked, ...]) -> WaitGraph | None:
    """The wait-for graph of the deadlock; drawn now, while every thread is still parked."""
    try:
        return build(asleep, title=HEADER)
    except Exception:  # a picture must never cost the report
        log.exception("gochan: could not draw the deadlock's wait-for graph")
        return None


def _after_fork_in_child() -> None:
    """The parent's watchdog does not exist in a forked child: start afresh."""
    global _lock, _warn_lock, _wake, _thread, _idle
    _lock = threading.Lock()
    _warn_lock = threading.Lock()
    _wake = threading.Event()
    _thread = None
    _idle = False
    _logged.clear()
    _idle_threads.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
resume_hooks.append(_on_resume)
_sync_hooks()
