"""``SyncProducer``: sarama's synchronous producer, a thin adapter over ``AsyncProducer``.

Each message carries a private reply (sarama's "expectation"), one per call and
shared by the messages of a ``send_messages`` call; the async producer's stages put
each message's result there instead of on ``successes()``/``errors()``, so no
routing goroutines are needed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from gochan import Chan, ClosedChannelError, idle_waits

from ._aio import AioFace, Opening
from ._async_producer import AsyncProducer
from ._config import Config
from ._errors import ClosedProducerError, ConfigurationError, ProducerError, ProducerErrors
from ._message import ProducerMessage, claim
from ._metrics import Registry
from ._txn import ConsumerGroupMetadata, PartitionOffsetMetadata, ProducerTxnStatusFlag

__all__ = ["SyncProducer"]


class _Replies:
    """The results of one ``send_message``/``send_messages`` call (sarama's
    expectations): ``put`` never blocks (the producer's stages call it, kafka-python's
    network thread included); ``wait`` returns once every message has its result."""

    __slots__ = ("_all_in", "_left", "_lock", "_orphans", "failures")

    def __init__(self, n: int) -> None:
        self._left = n
        self._lock = threading.Lock()  # guards _left, failures and _orphans
        self.failures: dict[int, BaseException] = {}  # id(msg) -> its error
        self._all_in: Chan[None] = Chan()  # closed by the last put
        # Set when the caller stopped waiting (a cancelled task): the last put
        # releases these messages, since nobody else will.
        self._orphans: list[ProducerMessage] | None = None

    def put(self, msg: ProducerMessage, result: BaseException | None) -> None:
        with self._lock:
            if result is not None:
                self.failures[id(msg)] = result
            self._left -= 1
            last = self._left == 0
            orphans = self._orphans if last else None
        if last:
            self._all_in.close()
        if orphans:
            for orphan in orphans:
                _release(orphan)

    def orphan(self, msgs: list[ProducerMessage]) -> None:
        """Nobody waits any more: release ``msgs`` once their results are in (at once
        if they are)."""
        with self._lock:
            if self._left > 0:
                self._orphans = msgs
                return
        for msg in msgs:
            _release(msg)

    async def wait_async(self, msgs: list[ProducerMessage]) -> None:
        """``wait`` for asyncio; a cancelled wait leaves ``msgs`` to :meth:`orphan`."""
        try:
            await self._all_in.recv_async()
        except asyncio.CancelledError:
            self.orphan(msgs)
            raise

    def expect_fewer(self, n: int) -> None:
        """``n`` of the messages were never sent: do not wait for them."""
        with self._lock:
            self._left -= n
            last = self._left == 0
        if last:
            self._all_in.close()

    def wait(self) -> None:
        # Waiting for the broker's acknowledgements, bounded by the delivery timeout:
        # not a channel that someone fails to serve, so no stall warning.
        with idle_waits():
            self._all_in.recv()

    def wait_or_orphan(self, msgs: list[ProducerMessage]) -> None:
        """``wait``; interrupted (Ctrl-C), leave ``msgs`` to :meth:`orphan`, so they are
        released once their results are in and may be sent again."""
        try:
            self._all_in.recv()
        except BaseException:
            self.orphan(msgs)
            raise


class SyncProducer(AioFace):
    """sarama's ``SyncProducer``: ``send_message`` blocks until Kafka acknowledges.

    The config must have both ``producer.return_errors`` and
    ``producer.return_successes`` set (sarama's rule); with ``config=None`` the
    defaults are used with successes turned on, as ``NewSyncProducer(addrs, nil)``
    does. Thread-safe. One message object is one send: an object that is already in
    flight (in this or any producer), or twice in one batch, is refused with a
    ``ValueError`` before anything is sent.
    """

    def __init__(self, addrs: str | Sequence[str], config: Config | None = None) -> None:
        if config is None:
            config = Config()
            config.producer.return_successes = True
        if not isinstance(config, Config):
            raise TypeError(f"config must be a producer.Config, not {type(config).__name__}")
        if not config.producer.return_errors:
            raise ConfigurationError("producer.return_errors (sarama: Producer.Return.Errors) "
                                     "must be True to be used in a SyncProducer")
        if not config.producer.return_successes:
            raise ConfigurationError("producer.return_successes (sarama: "
                                     "Producer.Return.Successes) must be True to be used in a "
                                     "SyncProducer")
        self._producer = AsyncProducer(addrs, config)
        self._lock = threading.Lock()
        self._closed = False

    def _claim(self, msgs: list[ProducerMessage], call: str) -> None:
        """Check the caller and mark ``msgs`` in flight (released by :func:`_release`)."""
        if threading.get_ident() in self._producer._own_threads:
            raise RuntimeError(f"{call} called from the producer's own goroutine (a "
                               "partitioner or interceptor callback) would deadlock")
        claim(msgs, self._producer, call)

    def _submit(self, msg: ProducerMessage, replies: _Replies) -> None:
        """Send a claimed message with its replies."""
        msg._reply = replies
        try:
            self._producer.input().send(msg)
        except ClosedChannelError:
            _release(msg)
            raise ClosedProducerError("kafka: tried to use a producer that was closed") from None

    def send_message(self, msg: ProducerMessage) -> tuple[int, int]:
        """Produce ``msg`` and wait: returns ``(partition, offset)``.

        Raises:
            the cause of the failure itself (not wrapped in a ``ProducerError``), as
            sarama returns it; ``ClosedProducerError`` after :meth:`close`;
            ``ValueError`` at once when ``msg`` is already in flight.
        """
        if not isinstance(msg, ProducerMessage):
            raise TypeError(f"send_message() takes a ProducerMessage, not {type(msg).__name__}")
        self._claim([msg], "send_message()")
        replies = _Replies(1)
        self._submit(msg, replies)
        replies.wait_or_orphan([msg])
        return _outcome(msg, replies)

    async def _submit_async(self, msg: ProducerMessage, replies: _Replies) -> None:
        """:meth:`_submit` for asyncio: a full ``input()`` suspends the task, not the
        loop. A cancellation here means the message was not sent: it is released."""
        msg._reply = replies
        try:
            await self._producer.input().send_async(msg)
        except ClosedChannelError:
            _release(msg)
            raise ClosedProducerError("kafka: tried to use a producer that was closed") from None
        except asyncio.CancelledError:
            _release(msg)
            raise

    async def send_message_async(self, msg: ProducerMessage) -> tuple[int, int]:
        """:meth:`send_message` for asyncio: ``await p.send_message_async(msg)``.

        The task waits, the event loop does not. Cancelling the task before the
        producer took the message withdraws it; after, the send goes on: its result
        still arrives exactly once and the object is released then (it may be sent
        again from that moment), but nobody raises its error.

        Raises:
            as :meth:`send_message`.
        """
        if not isinstance(msg, ProducerMessage):
            raise TypeError(f"send_message_async() takes a ProducerMessage, not "
                            f"{type(msg).__name__}")
        self._claim([msg], "send_message_async()")
        replies = _Replies(1)
        await self._submit_async(msg, replies)
        await replies.wait_async([msg])
        return _outcome(msg, replies)

    async def send_messages_async(self, msgs: Iterable[ProducerMessage]) -> None:
        """:meth:`send_messages` for asyncio: ``await p.send_messages_async(msgs)``.

        Cancellation as for :meth:`send_message_async`: the messages already taken
        go on and are released once their results are in; the rest are withdrawn.

        Raises:
            as :meth:`send_messages`.
        """
        msgs = _batch(msgs, "send_messages_async()")
        if not msgs:
            return
        self._claim(msgs, "send_messages_async()")
        replies = _Replies(len(msgs))
        sent = 0
        try:
            for msg in msgs:
                await self._submit_async(msg, replies)
                sent += 1
        except (ClosedProducerError, asyncio.CancelledError):
            for msg in msgs[sent + 1:]:  # the failed one released itself
                _release(msg)
            replies.expect_fewer(len(msgs) - sent)
            replies.orphan(msgs[:sent])
            raise
        await replies.wait_async(msgs)
        _outcomes(msgs, replies)

    @classmethod
    def open_async(cls, addrs: str | Sequence[str],
                   config: Config | None = None) -> Opening[SyncProducer]:
        """The constructor for asyncio: ``async with SyncProducer.open_async(addrs) as p``
        builds (and on the way out closes) the producer in a goroutine, so the event
        loop never blocks; ``await p.aclose()`` is ``close()`` off the loop."""
        return Opening(lambda: cls(addrs, config))

    def _close_and_wait(self, *, announce: bool) -> None:
        self._producer._close_and_wait(announce=announce, collect=False)

    def send_messages(self, msgs: Iterable[ProducerMessage]) -> None:
        """Produce every message and wait for all of them (sarama's ``SendMessages``).

        Successful messages have ``partition`` and ``offset`` set.

        Raises:
            ProducerErrors: one :class:`ProducerError` per failed message (the
                others were delivered: partial success is normal).
            ValueError: before anything is sent, when one object appears twice in
                ``msgs`` or is already in flight.
        """
        msgs = _batch(msgs, "send_messages()")
        if not msgs:
            return
        self._claim(msgs, "send_messages()")
        replies = _Replies(len(msgs))
        sent = 0
        try:
            for msg in msgs:
                self._submit(msg, replies)
                sent += 1
        except ClosedProducerError:
            for msg in msgs[sent + 1:]:  # the failed one released itself
                _release(msg)
            replies.expect_fewer(len(msgs) - sent)
            replies.wait()  # sent: their results come (close() drains)
            for msg in msgs[:sent]:
                _release(msg)
            raise
        replies.wait_or_orphan(msgs)
        _outcomes(msgs, replies)

    def metrics(self) -> dict[str, dict[str, Any]]:
        """A snapshot of sarama's metrics (see :meth:`AsyncProducer.metrics`)."""
        return self._producer.metrics()

    def _metrics_registry(self) -> Registry:
        return self._producer._metrics_registry()

    def close(self) -> None:
        """Shut down, waiting for messages in flight; always returns ``None``, as sarama's.

        As :meth:`AsyncProducer.close <producer.AsyncProducer.close>`, it says on the
        ``producer`` logger what it waits for (at once when a ``with`` block exits on an
        exception, e.g. Ctrl-C during a ``send_message``), and a ``KeyboardInterrupt``
        abandons the wait: every undelivered message fails, no thread is left, and
        the interrupt propagates.

        Raises:
            RuntimeError: called from one of the producer's own threads (a
                partitioner or interceptor), where it would deadlock.
        """
        self._producer._close_and_wait(announce=False, collect=False)

    # -- transactions: sarama's SyncProducer methods, on the AsyncProducer it wraps ---

    def is_transactional(self) -> bool:
        """Whether ``producer.transaction.id`` is set (sarama's ``IsTransactional``)."""
        return self._producer.is_transactional()

    def txn_status(self) -> ProducerTxnStatusFlag:
        """sarama's ``TxnStatus`` (see :meth:`AsyncProducer.txn_status`)."""
        return self._producer.txn_status()

    def begin_txn(self) -> None:
        """sarama's ``BeginTxn`` (see :meth:`AsyncProducer.begin_txn`)."""
        self._producer.begin_txn()

    def commit_txn(self) -> None:
        """sarama's ``CommitTxn``: every ``send_message`` call has returned already,
        so this only publishes the offsets and ends the transaction (see
        :meth:`AsyncProducer.commit_txn`)."""
        self._producer.commit_txn()

    def abort_txn(self) -> None:
        """sarama's ``AbortTxn`` (see :meth:`AsyncProducer.abort_txn`)."""
        self._producer.abort_txn()

    def add_offsets_to_txn(self, offsets: dict[str, list[PartitionOffsetMetadata]],
                           group_id: str) -> None:
        """sarama's ``AddOffsetsToTxn`` (see :meth:`AsyncProducer.add_offsets_to_txn`)."""
        self._producer.add_offsets_to_txn(offsets, group_id)

    def add_message_to_txn(self, msg: Any, group_id: str, metadata: str | None = None,
                           ) -> None:
        """sarama's ``AddMessageToTxn`` (see :meth:`AsyncProducer.add_message_to_txn`)."""
        self._producer.add_message_to_txn(msg, group_id, metadata)

    def add_offsets_to_txn_with_group_metadata(
            self, offsets: dict[str, list[PartitionOffsetMetadata]],
            group_metadata: ConsumerGroupMetadata | Any) -> None:
        """sarama's ``AddOffsetsToTxnWithGroupMetadata`` (see
        :meth:`AsyncProducer.add_offsets_to_txn_with_group_metadata`)."""
        self._producer.add_offsets_to_txn_with_group_metadata(offsets, group_metadata)

    def add_message_to_txn_with_group_metadata(
            self, msg: Any, group_metadata: ConsumerGroupMetadata | Any,
            metadata: str | None = None) -> None:
        """sarama's ``AddMessageToTxnWithGroupMetadata`` (see
        :meth:`AsyncProducer.add_message_to_txn_with_group_metadata`)."""
        self._producer.add_message_to_txn_with_group_metadata(msg, group_metadata, metadata)

    def __enter__(self) -> SyncProducer:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._producer._close_and_wait(announce=exc_type is not None, collect=False)

    def __repr__(self) -> str:
        return repr(self._producer).replace("AsyncProducer", "SyncProducer", 1)


def _release(msg: ProducerMessage) -> None:
    """End the SyncProducer's hold on ``msg``: reply first, then owner (claim sets them
    in the other order, so a message with a reply always has an owner)."""
    msg._reply = None
    msg._owner = None


def _batch(msgs: Iterable[ProducerMessage], call: str) -> list[ProducerMessage]:
    """``msgs`` as a list, every item checked to be a :class:`ProducerMessage`."""
    batch = list(msgs)
    for msg in batch:
        if not isinstance(msg, ProducerMessage):
            raise TypeError(f"{call} takes ProducerMessages, not {type(msg).__name__}")
    return batch


def _outcome(msg: ProducerMessage, replies: _Replies) -> tuple[int, int]:
    """Release ``msg`` once its result is in; raise its error or return where it went."""
    _release(msg)
    err = replies.failures.get(id(msg))
    if err is not None:
        raise err
    return msg.partition, msg.offset


def _outcomes(msgs: list[ProducerMessage], replies: _Replies) -> None:
    """Release ``msgs`` once their results are in; raise their errors together."""
    for msg in msgs:
        _release(msg)
    failures = replies.failures
    if failures:
        raise ProducerErrors([ProducerError(msg, failures[id(msg)])
                              for msg in msgs if id(msg) in failures])
