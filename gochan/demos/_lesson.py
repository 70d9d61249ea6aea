"""What the demos share: a lesson run in a fresh interpreter, indented output, a progress
counter, and gochan's stall warnings printed to stdout."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import gochan
from gochan._registry import blocked_snapshot
from gochan._waitgraph import WaitGraph, build

__all__ = [
    "Finished",
    "Progress",
    "indented",
    "observed_child",
    "observing",
    "run_in_subprocess",
    "stall_warnings",
]

_ROOT = str(Path(gochan.__file__).resolve().parents[1])  # the directory holding gochan/


@dataclass(frozen=True)
class Finished:
    """A lesson that ran in its own interpreter: exit status, output, wall time."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def stderr_from(self, marker: str) -> str:
        """``stderr`` from the first line containing ``marker`` on (all of it if absent)."""
        at = self.stderr.find(marker)
        return self.stderr[self.stderr.rfind("\n", 0, at) + 1:] if at >= 0 else self.stderr


def run_in_subprocess(module: str, func: str, timeout: float = 30.0) -> Finished:
    """Run ``module.func()`` in a fresh ``python -c``, as its own program.

    For lessons that must end the process to make their point (a deadlock, a leak):
    in here they would take the caller down with them, or leave threads behind.
    Deadlock detection is switched on in the child whatever the environment says.
    Under :func:`observing`, the child records its own trace (added to ours as a
    process of its own) and draws the wait-for graph when it fails.
    """
    env = dict(os.environ, GOCHAN_DEADLOCK="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    code = f"from {module} import {func}; {func}()"
    watch = _Observer.current
    child_trace = None
    if watch is not None:
        child_trace = watch.child_trace_path(func)
        code = (f"from gochan.demos._lesson import observed_child; "
                f"observed_child({module!r}, {func!r}, {child_trace!r}, {watch.graph!r})")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code],
                          capture_output=True, text=True, env=env, timeout=timeout)
    if watch is not None and child_trace is not None:
        watch.child_finished(child_trace, f"{func}() in its own interpreter (python -c)")
    return Finished(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def indented(text: str, prefix: str = "  | ") -> str:
    """``text`` with every line prefixed, to set a program's own output apart."""
    return textwrap.indent(text.rstrip("\n"), prefix, lambda line: True)


class Progress:
    """A one-line counter: redrawn in place on a terminal, a line a second otherwise.

    ``write`` prints a line above the counter (log records use it); safe from any thread.
    """

    current: Progress | None = None  # the open one, which log records print above

    def __init__(self, label: str, total: int, out: TextIO | None = None) -> None:
        self._label = label
        self._total = total
        self._out = out or sys.stdout
        self._tty = self._out.isatty()
        self._count = 0
        self._shown = -1
        self._last = 0.0
        self._lock = threading.Lock()  # guards the fields above and the output line
        Progress.current = self

    def update(self, count: int) -> None:
        """Show ``count`` (throttled: ten redraws a second on a terminal, one otherwise)."""
        with self._lock:
            self._count = count
            now = time.monotonic()
            if now - self._last >= (0.1 if self._tty else 1.0):
                self._last = now
                self._draw()

    def write(self, line: str) -> None:
        """Print ``line`` above the counter."""
        with self._lock:
            if self._tty:
                self._out.write("\r\033[K")
            self._out.write(line + "\n")
            if self._tty:
                self._draw()
            self._out.flush()

    def close(self) -> None:
        """Show the final count and end the line."""
        with self._lock:
            if self._shown != self._count:
                self._draw()
            if self._tty:
                self._out.write("\n")
            self._out.flush()
        if Progress.current is self:
            Progress.current = None

    def _draw(self) -> None:
        """Requires: self._lock held."""
        text = f"  {self._label} {self._count}/{self._total}"
        self._out.write(f"\r\033[K{text}" if self._tty else text + "\n")
        self._out.flush()
        self._shown = self._count


class _Print(logging.Handler):
    """Prints records on stdout, above the open progress counter if there is one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).replace(_ROOT + os.sep, "")  # shorter paths
            progress = Progress.current
            if progress is not None:
                progress.write(line)
            else:
                print(line, flush=True)
        except Exception:
            self.handleError(record)


@contextmanager
def stall_warnings(seconds: float) -> Iterator[None]:
    """Warn about gochan operations blocked longer than ``seconds``, on stdout.

    Restores the previous threshold and the ``gochan`` logger on exit.
    """
    handler = _Print()
    handler.setFormatter(logging.Formatter("  log: %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("gochan")
    level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    previous = gochan.set_stall_warning(seconds)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        gochan.set_stall_warning(previous)


# -- --trace and --graph ----------------------------------------------------------------------


class _Observer:
    """What ``--trace`` and ``--graph`` asked for, while a demo runs.

    The graph is taken the first time some operation has waited ``graph_after``
    seconds (a stall, seen from a thread of ours that only looks), and taken again
    while that wait lasts if more threads join the stall; failing that, the moment of
    the longest wait seen is drawn at the end. A lesson run in its own
    interpreter draws its own graph when it fails (its deadlock, its leak), and that
    one wins: it is the lesson.
    """

    current: _Observer | None = None

    def __init__(self, trace: str | None, graph: str | None, graph_after: float) -> None:
        self.trace = trace
        self.graph = graph
        self.graph_after = graph_after
        self.recording: gochan.trace.Recording | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="gochan-demo-")
        self._children = 0
        self._child_wrote_graph = False
        self._stop = threading.Event()
        self._best: tuple[float, WaitGraph] | None = None
        self._taken = False
        self._watcher: threading.Thread | None = None

    def child_trace_path(self, func: str) -> str | None:
        if self.trace is None:
            return None
        self._children += 1
        return str(Path(self._tmp.name) / f"{self._children}-{func}.json")

    def child_finished(self, trace_path: str, name: str) -> None:
        if self.recording is not None and Path(trace_path).exists():
            self.recording.include(trace_path, name)
        if self.graph is not None and Path(self.graph).exists():
            self._child_wrote_graph = True

    def _watch(self) -> None:
        me = threading.get_ident()
        anchor: object = None  # the oldest wait of the stall drawn, while it lasts
        drawn = 0  # how many waits that drawing showed
        while not self._stop.wait(0.05):
            records = [r for r in blocked_snapshot() if r.ident != me]
            if not records:
                continue
            oldest = min(records, key=lambda r: r.since)
            age = time.monotonic() - oldest.since
            title = f"wait-for graph after {age:.1f}s of waiting"
            if self._taken:
                # The same stall, with more threads caught in it since: draw it again.
                if oldest is anchor and len(records) > drawn and self.graph is not None:
                    build(records, title=title, exclude=(me,)).write(self.graph)
                    drawn = len(records)
                continue
            if self._best is not None and age <= self._best[0] * 1.5:
                continue
            self._best = (age, build(records, title=title, exclude=(me,)))
            if age >= self.graph_after and self.graph is not None:
                self._taken, anchor, drawn = True, oldest, len(records)
                self._best[1].write(self.graph)
                print(f"  (wait-for graph after {age:.1f}s of waiting: {self.graph})", flush=True)

    def __enter__(self) -> _Observer:
        if self.trace is not None:
            self.recording = gochan.trace.start(self.trace)
        if self.graph is not None:
            Path(self.graph).unlink(missing_ok=True)
            self._watcher = threading.Thread(target=self._watch, name="demo-graph-watcher",
                                             daemon=True)
            self._watcher.start()
        _Observer.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        _Observer.current = None
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        if self.graph is not None and not self._taken and not self._child_wrote_graph:
            if self._best is not None:
                self._best[1].write(self.graph)
            else:
                build([], title="wait-for graph: nothing ever waited").write(self.graph)
        if self.recording is not None:
            self.recording.stop()
        self._tmp.cleanup()
        for what, path in (("trace", self.trace), ("wait-for graph", self.graph)):
            if path is not None:
                print(f"({what}: {path})")


@contextmanager
def observing(trace: str | None, graph: str | None,
              graph_after: float = 1.0) -> Iterator[None]:
    """Record a trace of the demo to ``trace`` and draw its wait-for graph to ``graph``
    (either may be ``None``); see :class:`_Observer` for when the graph is taken."""
    if trace is None and graph is None:
        yield
        return
    with _Observer(trace, graph, graph_after):
        yield


def observed_child(module: str, func: str, trace: str | None, graph: str | None) -> None:
    """The child side of :func:`run_in_subprocess` under :func:`observing`: run
    ``module.func()``, recording ``trace``; when it fails, draw the wait-for graph (the
    deadlock's own, or the program's at that moment) to ``graph``."""
    import importlib

    run = getattr(importlib.import_module(module), func)
    recording = gochan.trace.start(trace) if trace else None
    try:
        run()
    except gochan.Deadlock as exc:
        if graph and exc.graph is not None:
            exc.graph.write(graph)
        raise
    except BaseException:
        if graph:
            gochan.wait_graph().write(graph)
        raise
    finally:
        if recording is not None:
            recording.stop()
