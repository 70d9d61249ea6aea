"""What the producer tells gochan's stall watchdog.

Two things (``gochan.idle_waits`` and ``gochan.set_stall_hint``): the producer's own
stages waiting for work are idle, not stalled, so they never warn; and a send that
stalls on one of its channels says which channel nobody reads and what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from gochan import Chan, idle_waits, set_stall_hint

__all__ = ["ERRORS_UNREAD", "SUCCESSES_UNREAD", "annotate", "idle_stage"]

P = ParamSpec("P")
R = TypeVar("R")

SUCCESSES_UNREAD = ("nobody reads the producer's successes(): read it (in a goroutine, or in "
                    "one select with your sends), or set config.producer.return_successes "
                    "= False")
ERRORS_UNREAD = ("nobody reads the producer's errors(): read it, or set "
                 "config.producer.return_errors = False to have failures logged instead")


def idle_stage(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside ``gochan.idle_waits()``: a stage's waits for work never warn
    (its sends still do). Keeps ``func``'s name, which goroutine listings show."""

    @functools.wraps(func)
    def stage(*args: P.args, **kwargs: P.kwargs) -> R:
        with idle_waits():
            return func(*args, **kwargs)

    return stage


class Window(Protocol):
    """The producer's window: ``used()`` of ``size`` slots; a full one parks the
    dispatcher in a send on ``room``."""

    size: int
    room: Chan[None]

    def used(self) -> int: ...


class _InputStalled:
    """The hint of ``input()`` (and of the window, whose stall it becomes): says which
    result channel is full, computed when the watchdog warns."""

    __slots__ = ("errors", "prefix", "return_errors", "return_successes", "successes",
                 "window")

    def __init__(self, prefix: str, successes: Chan[Any], errors: Chan[Any],
                 window: Window | None, return_successes: bool, return_errors: bool) -> None:
        self.prefix = prefix
        self.successes = successes
        self.errors = errors
        self.window = window
        self.return_successes = return_successes
        self.return_errors = return_errors

    def __call__(self) -> str:
        if self.return_successes and _full(self.successes):
            return (f"{self.prefix}: nobody reads its successes() ({len(self.successes)} "
                    f"waiting); read successes() and errors(), or set "
                    f"config.producer.return_successes = False")
        if self.return_errors and _full(self.errors):
            return (f"{self.prefix}: nobody reads its errors() ({len(self.errors)} waiting); "
                    f"read errors(), or set config.producer.return_errors = False")
        if self.window is not None and self.window.used() >= self.window.size:
            return (f"{self.prefix}: Kafka has not acknowledged the {self.window.used()} "
                    f"messages the producer holds yet (is the broker reachable?)")
        return (f"{self.prefix}: read its successes() and errors() (or set "
                f"config.producer.return_successes = False), and check that Kafka is "
                f"reachable")


def _full(ch: Chan[Any]) -> bool:
    return ch.cap > 0 and len(ch) >= ch.cap


def annotate(input_: Chan[Any], successes: Chan[Any], errors: Chan[Any],
             window: Window | None, *, return_successes: bool, return_errors: bool) -> None:
    """Give a producer's channels their stall hints."""
    set_stall_hint(successes, SUCCESSES_UNREAD)
    set_stall_hint(errors, ERRORS_UNREAD)
    set_stall_hint(input_, _InputStalled("the producer is not taking input", successes, errors,
                                         window, return_successes, return_errors))
    if window is not None:
        set_stall_hint(window.room, _InputStalled("the producer's window of messages handed to "
                                             "Kafka is full", successes, errors, window,
                                             return_successes, return_errors))
