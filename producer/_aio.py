"""The producers' asyncio face: opening and closing off the event loop.

Construction (bootstrapping the Kafka client) and ``close()`` (waiting for every
message in flight) block for up to seconds; from asyncio they run in a goroutine
while the calling task awaits a channel (``recv_async``), so the loop keeps
running. Sending and receiving need nothing new: ``input().send_async()``,
``successes().recv_async()``, ``errors().recv_async()`` and
``gochan.select_async`` already suspend the task instead of the thread, and
``SyncProducer.send_message_async`` awaits its reply the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

from gochan import Chan, go

__all__ = ["AioFace", "Opening", "off_loop"]

T = TypeVar("T")
P = TypeVar("P", bound="AioFace")


async def off_loop(func: Callable[[], T], *, if_abandoned: Callable[[T], object] | None = None,
                   ) -> T:
    """``func()`` in a goroutine, awaited without blocking the loop.

    Cancelling the awaiting task does not stop ``func`` (a thread cannot be
    interrupted); its result is then handed to ``if_abandoned`` (to close a producer
    nobody will get), in the goroutine.
    """
    done: Chan[tuple[Any, BaseException | None]] = Chan(1)

    def run() -> None:
        try:
            result = func()
        except BaseException as exc:
            done.send((None, exc))
        else:
            done.send((result, None))

    go(run)
    try:
        outcome = await done.recv_async()
    except asyncio.CancelledError:
        go(_finish_abandoned, done, if_abandoned)
        raise
    assert outcome is not None  # the channel is never closed
    result, exc = outcome
    if exc is not None:
        raise exc
    return result  # type: ignore[no-any-return]


def _finish_abandoned(done: Chan[tuple[Any, BaseException | None]],
                      if_abandoned: Callable[[Any], object] | None) -> None:
    outcome = done.recv()
    if outcome is not None and outcome[1] is None and if_abandoned is not None:
        if_abandoned(outcome[0])


class Opening(Generic[P]):
    """What ``open_async`` returns: ``await`` it for the producer, or use it in
    ``async with`` (then the producer is closed off the loop on the way out)."""

    __slots__ = ("_factory", "_producer")

    def __init__(self, factory: Callable[[], P]) -> None:
        self._factory = factory
        self._producer: P | None = None

    async def _open(self) -> P:
        return await off_loop(self._factory, if_abandoned=_close_quietly)

    def __await__(self) -> Generator[Any, None, P]:
        return self._open().__await__()

    async def __aenter__(self) -> P:
        self._producer = await self._open()
        return self._producer

    async def __aexit__(self, exc_type: object, *exc_info: object) -> None:
        if self._producer is not None:
            await self._producer.__aexit__(exc_type, *exc_info)


def _close_quietly(producer: AioFace) -> None:
    try:
        producer.close()
    except Exception:  # nobody is left to tell: its errors were logged by the producer
        pass


class AioFace:
    """``async with``, ``aclose()``, ``open_async()`` and the awaitable transaction ends
    for both producers."""

    def close(self) -> None:
        raise NotImplementedError

    def _close_and_wait(self, *, announce: bool) -> None:
        raise NotImplementedError

    def commit_txn(self) -> None:
        raise NotImplementedError

    def abort_txn(self) -> None:
        raise NotImplementedError

    async def commit_txn_async(self) -> None:
        """``commit_txn()`` without blocking the event loop (it waits for the
        transaction's messages in a goroutine; keep reading ``successes()`` and
        ``errors()`` from other tasks meanwhile).

        Raises what ``commit_txn()`` raises. Cancelling the awaiting task does not stop
        the commit, which completes in the background: check ``txn_status()``.
        """
        await off_loop(self.commit_txn)

    async def abort_txn_async(self) -> None:
        """``abort_txn()`` without blocking the event loop (see
        :meth:`commit_txn_async`)."""
        await off_loop(self.abort_txn)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop (it runs in a goroutine).

        Raises what ``close()`` raises. Cancelling the awaiting task does not stop
        the shutdown, which completes in the background.
        """
        await off_loop(self.close)

    async def __aenter__(self: P) -> P:
        return self

    async def __aexit__(self, exc_type: object, *exc_info: object) -> None:
        announce = exc_type is not None
        await off_loop(lambda: self._close_and_wait(announce=announce))
