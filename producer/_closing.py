"""``close()``'s wait: says what it waits for, and a Ctrl-C abandons it.

A producer closed during an outage waits up to a delivery timeout (~32 s by
default) for the messages in flight. :func:`wait_closed` says so at once on the
``producer`` logger when it is closing on an exception (the usual way: a
``KeyboardInterrupt`` leaving a ``with`` block), or after :data:`SLOW_AFTER`
seconds otherwise. A ``KeyboardInterrupt`` while it waits abandons the wait: the
producer fails every undelivered message at once (through its usual channels),
its threads end, the failures are logged, and the interrupt is raised again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gochan import Chan, Goroutine, go

from ._errors import ProducerError, ProducerErrors
from ._stall import idle_stage

__all__ = ["SLOW_AFTER", "wait_closed"]

log = logging.getLogger("producer")

SLOW_AFTER = 1.0  # seconds of waiting after which close() says what it waits for
_POLL = 0.25  # seconds between two looks at whether close() has finished


@idle_stage
def wait_closed(successes: Chan[Any] | None, errors: Chan[ProducerError] | None,
                finished: Chan[None], *, waiting_for: Callable[[], str | None],
                abandon: Callable[[], float], announce: bool) -> list[ProducerError]:
    """Drain ``successes`` (discarded) and ``errors`` (returned) until ``finished``
    closes, as ``close()`` does.

    ``waiting_for()`` describes what is still in flight (``None``: nothing), logged
    at once when ``announce`` else after :data:`SLOW_AFTER` s. On
    ``KeyboardInterrupt``, ``abandon()`` fails whatever is left and returns how long
    the shutdown may still take; the wait then ends, the undelivered messages are
    logged as failed, and the interrupt is raised again (a further one gives up
    waiting for the threads).
    """
    drainers: list[Goroutine] = []
    if successes is not None:
        drainers.append(go(_discard, successes))
    collected: list[ProducerError] = []
    if errors is not None:
        drainers.append(go(_collect, errors, collected))
    told = announce
    waited = 0.0
    try:
        if announce:
            _tell(waiting_for)
        while not _closed(finished, _POLL):
            waited += _POLL
            if not told and waited >= SLOW_AFTER:
                told = True
                _tell(waiting_for)
    except KeyboardInterrupt:
        within = abandon()
        log.warning("producer: close() interrupted: failing every undelivered message and "
                    "stopping (within %.0fs)", within)
        try:
            finished.recv(timeout=within)
        except TimeoutError:
            log.error("producer: the producer did not stop within %.0fs after close() was "
                      "abandoned", within)
        _join(drainers, 1.0)
        if collected:
            log.error("producer: close() abandoned; %s", ProducerErrors(collected))
        raise
    _join(drainers, None)
    return collected


def _tell(waiting_for: Callable[[], str | None]) -> None:
    what = waiting_for()
    if what is not None:
        log.warning("producer: close() is waiting for %s; Ctrl-C abandons the wait and "
                    "reports them as failed", what)


def _closed(finished: Chan[None], timeout: float) -> bool:
    try:
        finished.recv(timeout=timeout)
    except TimeoutError:
        return False
    return True


def _join(goroutines: list[Goroutine], timeout: float | None) -> None:
    for g in goroutines:
        g.join(timeout)


@idle_stage
def _discard(chan: Chan[Any]) -> None:
    for _ in chan:
        pass


@idle_stage
def _collect(chan: Chan[ProducerError], into: list[ProducerError]) -> None:
    for err in chan:
        into.append(err)
