"""The trace recorder: a bounded ring of scheduling events, fed by gochan's trace hooks.

Like Go's execution tracer, it records what the scheduler sees, not every channel
operation: a goroutine's creation, start and exit; every park (the operation, its
channels with their creation sites, the user's line) and every resume (woken, closed,
timed out, or ended by the deadlock detector), with the thread that woke it and when.
A wake is a hand-off between goroutines: the waker gave the parked receiver a value,
took the parked sender's value, closed the channel, released a ``WaitGroup`` or a
semaphore. Operations that complete without parking (the fast paths) are not
recorded, so a trace costs nothing on them; with no recording in progress every hook
is ``None``: one global read on the park and wake paths.

Memory is bounded: events go into a ring of ``max_events`` (default
:data:`DEFAULT_MAX_EVENTS`); when it is full the oldest are dropped, and the file
written says how many. Events are appended without a lock (``deque.append`` and
``itertools.count`` are atomic under the GIL), so recording never takes a lock that a
channel operation could be waiting for.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from .. import _goroutine, _registry, _waiter
from .._chan import Chan, _NilChan
from .._dump import _internal
from .._goroutine import Goroutine, _live
from .._registry import Blocked
from .._waiter import Waiter

__all__ = ["DEFAULT_MAX_EVENTS", "FORMATS", "Recording", "active", "record", "start", "stop"]

DEFAULT_MAX_EVENTS = 200_000
"""Ring size: about 200 bytes an event, so at most ~40 MB of events by default."""

FORMATS = (".json", ".html")
"""What a trace file's extension picks: Chrome/Perfetto trace-event JSON, or our HTML timeline."""

_get_ident = threading.get_ident
_now = time.monotonic_ns  # CLOCK_MONOTONIC: comparable across the processes of a machine

# Event tuples, first two fields (timestamp in ns, kind) then by kind:
#   CREATE: lane (creator), child lane, child name, created_by
#   START / EXIT: lane
#   PARK: lane, op, cases ((kind, object key), ...), site (file, line, function), timeout
#   RESUME: lane, outcome, case index, waker lane or None, wake timestamp or None
CREATE, START, EXIT, PARK, RESUME = "create", "start", "exit", "park", "resume"

# _lock guards _active: one recording at a time per process.
_lock = threading.Lock()
_active: Recording | None = None


def _lane() -> str:
    """The calling thread's lane: ``g<id>`` for a goroutine, ``t<ident>`` otherwise."""
    ident = _get_ident()
    g = _live.get(ident)
    return f"g{g.id}" if g is not None else f"t{ident}"


def _user_site(frame: FrameType | None) -> tuple[str, int, str]:
    """(file, line, function) of the innermost frame that is not gochan's own (of the
    innermost frame if all are: a goroutine running ``go(ch.send, v)``)."""
    first = frame
    while frame is not None:
        if not _internal(frame):
            return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    if first is not None:
        return first.f_code.co_filename, first.f_lineno, first.f_code.co_name
    return "?", 0, "?"


class Recording:
    """A trace being recorded (or finished): ``stop()`` writes it to ``path``.

    ``path``'s extension picks the format (:data:`FORMATS`). ``max_events`` bounds the
    ring; ``dropped`` counts the oldest events it had to let go.
    """

    def __init__(self, path: str | os.PathLike[str] | None, max_events: int) -> None:
        if type(max_events) is not int or max_events < 1:
            raise ValueError(f"max_events must be a positive int, not {max_events!r}")
        self.path = None if path is None else Path(path)
        if self.path is not None and self.path.suffix.lower() not in FORMATS:
            raise ValueError(f"trace file {str(self.path)!r}: the extension must be one of "
                             f"{', '.join(FORMATS)} (it picks the format)")
        self.max_events = max_events
        self.events: deque[tuple[Any, ...]] = deque(maxlen=max_events)
        self._seq = itertools.count()
        self.recorded = 0  # events offered to the ring, known once stopped
        self.started_ns = _now()
        self.stopped_ns: int | None = None
        self.lane_names: dict[str, str] = {}
        self.objects: dict[str, tuple[str, str | None]] = {}  # key -> (label, creation site)
        self.included: list[tuple[Path, str | None]] = []
        # id(waiter) -> (waker lane, wake time), until the woken thread resumes.
        self._wakers: dict[int, tuple[str, int]] = {}
        self._lanes: dict[int, str] = {}  # thread ident -> lane

    # -- hooks (run in the program's threads: no locks, never raise) -----------------

    def _add(self, event: tuple[Any, ...]) -> None:
        next(self._seq)
        self.events.append(event)

    def _lane(self) -> str:
        """The calling thread's lane (cached per thread; a goroutine's start and exit
        refresh it, since a thread ident is reused once its thread has exited)."""
        ident = _get_ident()
        lane = self._lanes.get(ident)
        if lane is None:
            lane = self._lanes[ident] = _lane()
            if lane not in self.lane_names:
                self.lane_names[lane] = threading.current_thread().name
        return lane

    def _name(self, lane: str) -> None:
        if lane not in self.lane_names:
            self.lane_names[lane] = threading.current_thread().name

    def _on_goroutine(self, event: str, g: Goroutine) -> None:
        now = _now()
        if event == "create":
            child = f"g{g.id}"
            self.lane_names[child] = g.thread.name
            self._add((now, CREATE, self._lane(), child, g.func_name, g.created_by))
            return
        lane = f"g{g.id}"
        self.lane_names[lane] = g.thread.name
        if event == "start":
            self._lanes[_get_ident()] = lane
            self._add((now, START, lane))
        else:
            self._add((now, EXIT, lane))
            self._lanes.pop(_get_ident(), None)

    def _key(self, obj: Any) -> str:
        if isinstance(obj, Chan):
            if isinstance(obj, _NilChan):
                key = "nil"
                if key not in self.objects:
                    self.objects[key] = ("nilchan", None)
                return key
            key = f"c{obj._seq}"
            if key not in self.objects:
                self.objects[key] = (f"Chan({obj._cap})", obj._site)
            return key
        key = f"o{id(obj)}"
        if key not in self.objects:
            label = type(obj).__name__
            size = getattr(obj, "_size", None)
            self.objects[key] = (f"{label}({size})" if type(size) is int else label, None)
        return key

    def _on_park(self, record: Blocked) -> None:
        now = _now()
        key = self._key
        cases = tuple([(kind, key(obj)) for kind, obj in record.cases])
        self._add((now, PARK, self._lane(), record.op, cases, _user_site(record.frame),
                   record.timeout))

    def _on_wake(self, waiter: Waiter) -> None:
        self._wakers[id(waiter)] = (self._lane(), _now())

    def _on_resume(self, record: Blocked) -> None:
        now = _now()
        waiter = record.waiter
        woke = self._wakers.pop(id(waiter), None)
        if waiter.error is not None:
            outcome = type(waiter.error).__name__  # Deadlock
        elif woke is None:
            outcome = "timeout" if record.timeout is not None else "interrupted"
        else:
            outcome = "ok" if waiter.ok else "closed"
        self._add((now, RESUME, self._lane(), outcome, max(waiter.index, 0),
                   woke[0] if woke else None, woke[1] if woke else None))

    # -- control ---------------------------------------------------------------------

    def _install(self) -> None:
        _registry.park_hooks.append(self._on_park)
        _registry.trace_resume = self._on_resume
        _waiter.wake_hook = self._on_wake
        _goroutine.trace_hook = self._on_goroutine
        # Threads parked before we started are in the trace from their first resume on.

    def _uninstall(self) -> None:
        _goroutine.trace_hook = None
        _waiter.wake_hook = None
        _registry.trace_resume = None
        if self._on_park in _registry.park_hooks:
            _registry.park_hooks.remove(self._on_park)

    @property
    def dropped(self) -> int:
        """Events the ring let go (the oldest ones); 0 while under ``max_events``."""
        return max(self.recorded - len(self.events), 0)

    def include(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add a ``.json`` trace written by another process (e.g. a child this program ran)
        to this one's file, as a process of its own (named ``name``)."""
        self.included.append((Path(path), name))

    def stop(self) -> Path | None:
        """Stop recording and write the file (if the recording has a path); returns it."""
        global _active
        with _lock:
            if self.stopped_ns is None:
                self._uninstall()
                self.stopped_ns = _now()
                self.recorded = next(self._seq)
                if _active is self:
                    _active = None
        if self.path is None:
            return None
        self.write(self.path)
        return self.path

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to ``path``; its extension picks the format."""
        from ._chrome import trace_events
        from ._html import write_html

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise ValueError(f"trace file {str(path)!r}: the extension must be one of "
                             f"{', '.join(FORMATS)}")
        doc = trace_events(self)
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".json":
            import json

            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            tmp.replace(path)
        else:
            write_html(doc, path)


def start(path: str | os.PathLike[str] | None = None, *,
          max_events: int = DEFAULT_MAX_EVENTS) -> Recording:
    """Start recording; :meth:`Recording.stop` (or :func:`stop`) writes ``path``.

    Raises:
        RuntimeError: a recording is already in progress in this process.
        ValueError: ``path``'s extension is not ``.json`` or ``.html``.
    """
    global _active
    recording = Recording(path, max_events)
    with _lock:
        if _active is not None:
            raise RuntimeError(f"a gochan trace is already recording (to {_active.path})")
        _active = recording
        recording._install()
    return recording


def stop() -> Path | None:
    """Stop the recording in progress and write its file; ``None`` if none was recording."""
    recording = _active
    return recording.stop() if recording is not None else None


def active() -> Recording | None:
    """The recording in progress, if any."""
    return _active


@contextmanager
def record(path: str | os.PathLike[str], *,
           max_events: int = DEFAULT_MAX_EVENTS) -> Iterator[Recording]:
    """``with gochan.trace.record("out.html"):`` records the block and writes the file after.

    The extension picks the format: ``.json`` (Chrome/Perfetto trace events) or
    ``.html`` (a self-contained timeline). The file is written even if the block raises.
    """
    recording = start(path, max_events=max_events)
    try:
        yield recording
    finally:
        recording.stop()


def _from_environment() -> None:
    """``GOCHAN_TRACE=out.html python app.py``: record the whole program, write at exit."""
    # Popped: a child process (e.g. ``python -c`` run by this program) must not
    # inherit it and overwrite our file with its own trace.
    target = os.environ.pop("GOCHAN_TRACE", "").strip()
    if not target:
        return
    try:
        recording = start(target)
    except (ValueError, RuntimeError) as exc:
        print(f"gochan: GOCHAN_TRACE={target!r} ignored: {exc}", file=sys.stderr)
        return

    def finish() -> None:
        if recording.stopped_ns is None:
            path = recording.stop()
            print(f"gochan: trace written to {path}", file=sys.stderr)

    atexit.register(finish)


_from_environment()
