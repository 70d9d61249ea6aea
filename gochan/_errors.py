"""gochan's exceptions.

    GochanError
     ├── Panic                   a Go runtime panic; the message holds Go's own text
     │    └── ClosedChannelError "send on closed channel", "close of closed channel"
     ├── WouldBlock              raised by try_send / try_recv when the operation would block
     └── Deadlock                every thread is blocked in gochan and nothing can wake them
    Canceled                     context canceled (ctx.err() after cancel)
    DeadlineExceeded             context deadline exceeded (also a TimeoutError)

A receive from a closed, drained channel is not an error: it returns ``None``
(``(None, False)`` from ``recv_ok``), Go's zero value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._waitgraph import WaitGraph

__all__ = [
    "Canceled",
    "ClosedChannelError",
    "DeadlineExceeded",
    "Deadlock",
    "GochanError",
    "Panic",
    "WouldBlock",
]


class GochanError(Exception):
    """Base class of gochan's own errors."""


class Panic(GochanError, RuntimeError):
    """A Go runtime panic: misuse that Go reports with ``panic``."""


class ClosedChannelError(Panic):
    """Raised by ``send`` on a closed channel and by ``close`` of a closed channel."""


class WouldBlock(GochanError):
    """Raised by ``try_send`` / ``try_recv`` when the blocking version would block."""


class Deadlock(GochanError):
    """Raised in a blocked call when every thread is blocked in gochan operations.

    ``graph`` is the wait-for graph at that moment (who waits on what, who could have
    unblocked it, the cycle or the dangling wait highlighted): ``exc.graph.write("d.svg")``
    or ``exc.graph.to_dot()``. ``None`` if it could not be drawn.
    """

    graph: WaitGraph | None = None


class _ContextError(Exception):
    """Base of the context errors: equal to their class, as Go compares sentinels."""

    _text = ""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or (self._text,)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type):
            return issubclass(type(self), other) and issubclass(other, _ContextError)
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class Canceled(_ContextError):
    """Go's ``context.Canceled``: ``str()`` is ``context canceled``.

    ``ctx.err() == Canceled`` holds, as ``ctx.Err() == context.Canceled`` does in Go.
    """

    _text = "context canceled"


class DeadlineExceeded(_ContextError, TimeoutError):
    """Go's ``context.DeadlineExceeded``: ``str()`` is ``context deadline exceeded``."""

    _text = "context deadline exceeded"
