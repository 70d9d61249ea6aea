"""Goroutines: ``go(f, *args)`` runs ``f`` in a new, registered thread.

Each goroutine is a daemon thread (a Go program does not wait for its goroutines
when ``main`` returns) with a record of where it was created, so the diagnostics
can say "created by ... at file:line". An exception escaping ``f`` is a panic: it
goes to the panic handler set by :func:`set_panic_handler` (sarama's
``PanicHandler``), or, by default, to Python's ``threading.excepthook``, which
prints it. It is never swallowed.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any, ParamSpec

__all__ = ["Goroutine", "go", "goroutines", "set_panic_handler"]

P = ParamSpec("P")

_next_id = itertools.count(1).__next__
_panic_handler: Callable[[BaseException], object] | None = None

# Thread ident -> record, for every goroutine whose thread is running now.
_live: dict[int, Goroutine] = {}
# Goroutine id -> record, from go() until the function returns: go() registers it
# before the thread starts, so goroutines() never misses one that go() returned.
_running: dict[int, Goroutine] = {}

# gochan.trace's hook: called as ``trace_hook(event, record)`` with event ``"create"`` (in
# the creating thread, from go()), ``"start"`` and ``"exit"`` (in the goroutine's own
# thread). None unless a trace is recording.
trace_hook: Callable[[str, Goroutine], None] | None = None


class Goroutine:
    """A running (or finished) goroutine: its id, thread, function and creation site."""

    __slots__ = ("created_by", "func", "id", "thread")

    def __init__(self, func: Callable[..., Any], created_by: str) -> None:
        self.id = _next_id()
        self.func = func
        self.created_by = created_by
        self.thread: threading.Thread

    @property
    def name(self) -> str:
        """The thread's name, ``goroutine-<id> <function>``."""
        return self.thread.name

    def is_alive(self) -> bool:
        """Whether the goroutine is still running."""
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the goroutine to return; ``False`` if ``timeout`` ran out first."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def __repr__(self) -> str:
        return f"<Goroutine {self.id} {self.func_name} created by {self.created_by}>"

    @property
    def func_name(self) -> str:
        """The qualified name of the goroutine's function."""
        return getattr(self.func, "__qualname__", None) or repr(self.func)


def set_panic_handler(handler: Callable[[BaseException], object] | None) -> None:
    """Route goroutine panics to ``handler`` (sarama's ``PanicHandler``); ``None`` restores
    the default, Python's ``threading.excepthook``."""
    global _panic_handler
    _panic_handler = handler


def _run(record: Goroutine, func: Callable[..., Any], args: Any, kwargs: Any) -> None:
    ident = threading.get_ident()
    _live[ident] = record
    traced = trace_hook
    if traced is not None:
        traced("start", record)
    try:
        func(*args, **kwargs)
    except BaseException as exc:
        handler = _panic_handler
        if handler is None:
            raise  # threading.excepthook reports it
        handler(exc)
    finally:
        traced = trace_hook
        if traced is not None:
            traced("exit", record)
        del _live[ident]
        _running.pop(record.id, None)


def go(func: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> Goroutine:
    """Go's ``go f(x)``: run ``func(*args, **kwargs)`` in a new goroutine (a daemon thread).

    Returns the :class:`Goroutine` record (Go returns nothing; the record lets
    tests join it). An exception escaping ``func`` is reported as a panic.
    """
    if not callable(func):
        raise TypeError(f"go() needs a callable, not {type(func).__name__}")
    frame = sys._getframe(1)
    record = Goroutine(func, f"{frame.f_code.co_name} at {frame.f_code.co_filename}:"
                             f"{frame.f_lineno}")
    thread = threading.Thread(
        target=_run,
        args=(record, func, args, kwargs),
        name=f"goroutine-{record.id} {record.func_name}",
        daemon=True,
    )
    record.thread = thread
    _running[record.id] = record
    traced = trace_hook
    if traced is not None:
        traced("create", record)
    try:
        thread.start()
    except BaseException:
        _running.pop(record.id, None)
        raise
    return record


def goroutines() -> list[Goroutine]:
    """Every goroutine running now, in creation order."""
    return sorted(_running.copy().values(), key=lambda g: g.id)
