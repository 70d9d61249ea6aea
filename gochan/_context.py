"""Go's ``context``: cancellation, deadlines and request-scoped values.

``ctx.done()`` is a channel closed when the context ends, so cancellation is just
another ``select`` case. Cancelling a parent cancels its children: each
cancellable context registers its children with itself (no goroutine per child).
Deadlines are ``time.time()`` seconds; a deadline is enforced by one shared timer
(``after_func``), stopped when the context is cancelled first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ._chan import Chan, nilchan
from ._errors import Canceled, DeadlineExceeded
from ._timer import Timer, after_func

__all__ = [
    "CancelFunc",
    "Context",
    "background",
    "todo",
    "with_cancel",
    "with_deadline",
    "with_timeout",
    "with_value",
]

CancelFunc = Callable[[], None]


class Context:
    """Go's ``context.Context``. Create one with :func:`background` and the ``with_*`` calls."""

    __slots__ = ()

    def done(self) -> Chan[Any]:
        """A channel closed when this context ends; :data:`nilchan` if it never can."""
        return nilchan

    def err(self) -> BaseException | None:
        """``None`` while active; then a ``Canceled`` or ``DeadlineExceeded`` instance."""
        return None

    def deadline(self) -> tuple[float | None, bool]:
        """``(t, True)`` with the ``time.time()`` deadline, or ``(None, False)``."""
        return None, False

    def value(self, key: Any) -> Any:
        """The value bound to ``key`` by :func:`with_value` here or in a parent, else ``None``."""
        return None

    def _cancel_parent(self) -> _CancelCtx | None:
        return None


class _Empty(Context):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"context.{self._name}"


_BACKGROUND = _Empty("Background")
_TODO = _Empty("TODO")


def background() -> Context:
    """Go's ``context.Background()``: never cancelled, no values, no deadline."""
    return _BACKGROUND


def todo() -> Context:
    """Go's ``context.TODO()``: like :func:`background`, marking code still to be wired."""
    return _TODO


class _CancelCtx(Context):
    """A context that can be cancelled: ``with_cancel``, ``with_deadline``, ``with_timeout``.

    ``_lock`` guards ``_err`` and ``_children``; ``_done`` is closed exactly once,
    under the lock, when ``_err`` is first set.
    """

    __slots__ = ("_children", "_deadline", "_done", "_err", "_lock", "_parent", "_timer")

    def __init__(self, parent: Context, deadline: float | None = None) -> None:
        self._parent = parent
        self._lock = threading.Lock()
        self._done: Chan[Any] = Chan()
        self._err: BaseException | None = None
        self._children: set[_CancelCtx] = set()
        self._deadline = deadline
        self._timer: Timer | None = None

    def done(self) -> Chan[Any]:
        return self._done

    def err(self) -> BaseException | None:
        with self._lock:
            return self._err

    def deadline(self) -> tuple[float | None, bool]:
        if self._deadline is not None:
            return self._deadline, True
        return self._parent.deadline()

    def value(self, key: Any) -> Any:
        return self._parent.value(key)

    def _cancel_parent(self) -> _CancelCtx | None:
        return self

    def _cancel(self, remove_from_parent: bool, err: BaseException) -> None:
        with self._lock:
            if self._err is not None:
                return
            self._err = err
            self._done.close()
            children, self._children = self._children, set()
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()
        for child in children:
            child._cancel(False, err)
        if remove_from_parent:
            parent = self._parent._cancel_parent()
            if parent is not None:
                with parent._lock:
                    parent._children.discard(self)

    def _propagate(self) -> None:
        """Arrange for this context to end when its parent does."""
        parent = self._parent._cancel_parent()
        if parent is None:
            return
        with parent._lock:
            err = parent._err
            if err is None:
                parent._children.add(self)
                return
        self._cancel(False, err)

    def __repr__(self) -> str:
        kind = "WithDeadline" if self._deadline is not None else "WithCancel"
        return f"{self._parent!r}.{kind}"


class _ValueCtx(Context):
    __slots__ = ("_key", "_parent", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def done(self) -> Chan[Any]:
        return self._parent.done()

    def err(self) -> BaseException | None:
        return self._parent.err()

    def deadline(self) -> tuple[float | None, bool]:
        return self._parent.deadline()

    def value(self, key: Any) -> Any:
        if key == self._key:
            return self._val
        return self._parent.value(key)

    def _cancel_parent(self) -> _CancelCtx | None:
        return self._parent._cancel_parent()

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


def _check_parent(parent: object) -> Context:
    if not isinstance(parent, Context):
        raise TypeError(f"parent must be a gochan Context, not {type(parent).__name__}")
    return parent


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """Go's ``context.WithCancel``: a child whose ``done()`` closes on ``cancel()`` or when
    the parent ends. Calling ``cancel`` more than once is harmless."""
    ctx = _CancelCtx(_check_parent(parent))
    ctx._propagate()
    return ctx, lambda: ctx._cancel(True, Canceled())


def with_deadline(parent: Context, t: float) -> tuple[Context, CancelFunc]:
    """Go's ``context.WithDeadline``: also ends with ``DeadlineExceeded`` at ``time.time()``
    deadline ``t`` (or the parent's, if earlier)."""
    parent = _check_parent(parent)
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise TypeError(f"deadline must be time.time() seconds, not {type(t).__name__}")
    current, ok = parent.deadline()
    if ok and current is not None and current <= t:
        return with_cancel(parent)
    ctx = _CancelCtx(parent, float(t))
    ctx._propagate()
    remaining = t - time.time()
    if remaining <= 0:
        ctx._cancel(True, DeadlineExceeded())
    else:
        with ctx._lock:
            if ctx._err is None:
                ctx._timer = after_func(remaining, lambda: ctx._cancel(True, DeadlineExceeded()))
    return ctx, lambda: ctx._cancel(True, Canceled())


def with_timeout(parent: Context, d: float) -> tuple[Context, CancelFunc]:
    """Go's ``context.WithTimeout``: ``with_deadline(parent, time.time() + d)``."""
    if isinstance(d, bool) or not isinstance(d, int | float):
        raise TypeError(f"timeout must be seconds as a number, not {type(d).__name__}")
    return with_deadline(parent, time.time() + d)


def with_value(parent: Context, key: Any, val: Any) -> Context:
    """Go's ``context.WithValue``: a child where ``value(key)`` is ``val``."""
    return _ValueCtx(_check_parent(parent), key, val)
