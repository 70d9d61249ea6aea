"""What the demos share: a lesson run in a fresh interpreter, indented output, a progress
counter, and gochan's stall warnings printed to stdout."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import gochan

__all__ = [
    "Finished",
    "Progress",
    "broker_origin",
    "indented",
    "on_fresh_topic",
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
    """
    env = dict(os.environ, GOCHAN_DEADLOCK="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", f"from {module} import {func}; {func}()"],
                          capture_output=True, text=True, env=env, timeout=timeout)
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


def broker_origin(source: str) -> str:
    """Where ``local_kafka()`` got its broker, from the cluster's ``source``."""
    return {
        "external": "KAFKA_BOOTSTRAP_SERVERS (nothing started)",
        "local": "a local JVM that local_kafka() started for this demo",
        "docker": "a Docker container that local_kafka() started for this demo",
    }.get(source, source)


def on_fresh_topic(prefix: str, warn_after: float, lesson: Callable[[str, str], int]) -> int:
    """Run ``lesson(addrs, topic)`` on a fresh one-partition topic of the local broker
    (or ``KAFKA_BOOTSTRAP_SERVERS``), with stall warnings after ``warn_after`` seconds."""
    import uuid

    from producer.testing import local_kafka

    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("starting a local Kafka broker (producer.testing.local_kafka)...", flush=True)
    with local_kafka() as cluster:
        print(f"broker {cluster.bootstrap_servers}, from {broker_origin(cluster.source)}")
        topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
        cluster.create_topic(topic, partitions=1)
        try:
            with stall_warnings(warn_after):
                return lesson(cluster.bootstrap_servers, topic)
        finally:
            cluster.delete_topic(topic)
