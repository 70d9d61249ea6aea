"""Child processes that die with us.

Every JVM is started in its own process group, with ``PR_SET_PDEATHSIG = SIGKILL`` so the
kernel kills it if this process dies (even by SIGKILL), and is registered for an atexit kill.

Pitfall: the "parent" that PR_SET_PDEATHSIG watches is the *thread* that forked the child, not
the process. A JVM started from a short-lived thread (a worker of a thread pool, say) would be
killed as soon as that thread exits. So every child is forked by one long-lived daemon thread,
the launcher, which only ends when the process does.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1

_live: dict[int, tuple[subprocess.Popen[bytes], int]] = {}  # pid -> (process, spawner pid)
_live_lock = threading.Lock()
_launch_queue: queue.SimpleQueue[tuple[Callable[[], subprocess.Popen[bytes]], Future[Any]]] = (
    queue.SimpleQueue()
)
_launcher: threading.Thread | None = None
_launcher_lock = threading.Lock()
_libc: Any = None


def _load_libc() -> Any:
    """Load libc in the parent: the child must not dlopen between fork and exec."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:  # pragma: no cover - exotic libc
            _libc = False
    return _libc


def _make_preexec() -> Callable[[], None]:
    libc = _load_libc()
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec
        os.setpgid(0, 0)
        if libc:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)

    return preexec


def _launcher_loop() -> None:
    while True:
        fn, fut = _launch_queue.get()
        if not fut.set_running_or_notify_cancel():
            continue
        try:
            fut.set_result(fn())
        except BaseException as exc:
            fut.set_exception(exc)


def _run_in_launcher(fn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    global _launcher
    with _launcher_lock:
        if _launcher is None or not _launcher.is_alive():
            _launcher = threading.Thread(target=_launcher_loop, name="kafka-harness-launcher",
                                         daemon=True)
            _launcher.start()
    fut: Future[subprocess.Popen[bytes]] = Future()
    _launch_queue.put((fn, fut))
    return fut.result()


def spawn(argv: Sequence[str], *, cwd: Path, log: IO[bytes],
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, stdout+stderr to ``log``, killed when we die."""
    preexec = _make_preexec()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, preexec_fn=preexec,
                                close_fds=True)

    proc = _run_in_launcher(start)
    with _live_lock:
        _live[proc.pid] = (proc, os.getpid())
    return proc


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """Send ``sig`` to the process group of ``proc``; False if it is already gone."""
    if proc.poll() is not None:
        return False
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - group already reaped and pid reused
        return False
    return True


def kill(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGKILL the process group of ``proc`` and reap it."""
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    forget(proc)


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGCONT + SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    signal_group(proc, signal.SIGCONT)
    if signal_group(proc, signal.SIGTERM):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    kill(proc)


def forget(proc: subprocess.Popen[bytes]) -> None:
    """Drop ``proc`` from the atexit kill list (after it was reaped)."""
    with _live_lock:
        _live.pop(proc.pid, None)


@atexit.register
def _kill_all() -> None:
    with _live_lock:
        # A forked child inherits this table: it must not kill its parent's JVMs at its exit.
        procs = [p for p, owner in _live.values() if owner == os.getpid()]
        _live.clear()
    for proc in procs:
        signal_group(proc, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.wait(5)
