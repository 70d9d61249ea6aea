"""``AsyncProducer``: sarama's asynchronous producer, as a gochan pipeline over kafka-python.

The stages (each one goroutine, named after sarama's)::

    input() ──► dispatcher ──► kafka-python (batches, connections, retries)
     Chan(cbs)   validates,          │  its network thread completes a whole batch
                 partitions,         ▼
                 takes a window  results ──► result stage ──► successes() / errors()
                 slot, appends    Chan(W)    in order,         Chan(cbs) each
                 to a batch                  frees the slots

The engine works per kafka-python batch, not per message: the dispatcher appends a
record under kafka-python's partition lock into the open batch (``_kafka.appender``)
and the message joins our side of that batch (:class:`_Batch`); kafka-python
completes the batch once, with ``(base_offset, log_append_time, record_exceptions_fn)``
also on failure and expiry, so message ``i`` gets offset ``base_offset + i`` or the
error ``record_exceptions_fn(i)``. No future, hand-off object or callback per message:
one completion, one window step and one burst to ``successes()`` per batch.

``cbs`` is ``config.channel_buffer_size`` and ``W = 4 * max(cbs, 1)`` is the window
of messages handed to kafka-python whose results are not yet delivered. kafka-python
has no back-pressure of its own; the window is ours. It is wider than ``cbs`` because
it bounds the batches kafka-python can build. Its network thread never blocks on a
user channel: a completed batch is offered to ``results``, which always has room
because every batch holds window slots, or is finished right there when nothing can
block: successes nobody waits for (``return_successes`` off), the SyncProducer's
replies, or successes that fit in ``successes()`` while the result stage holds nothing
earlier (so they cannot overtake any); what does not fit goes to the result stage.

Blocking arithmetic (sarama's ``Return.Successes`` stall): if nobody reads
``successes()``, its buffer of ``cbs`` fills; the result stage frees the slots of
what it delivered, then blocks on the next message, which (like the rest of its
batch and every later batch) still holds its slot; the window fills, the dispatcher
blocks on it holding one message, and ``input()`` fills. ``input().send()`` then
blocks after exactly ``N = 2 * cbs + W + 1`` accepted messages (1537 with the default
256; sarama's is "at least 516, up to a few thousand"), with memory flat, whatever the
batch sizes. An unread ``errors()`` stalls the same way once ``cbs`` errors are
waiting; when the dispatcher itself finds the errors (size, type, topic, partition),
it is the one that blocks, holding the next error, so with every message failing
``input().send()`` blocks after ``2 * cbs + 1`` accepted messages (513 with the
default 256). ``successes()`` and ``errors()`` are buffered (sarama's are not) because
a Python thread hand-off costs ~20 us: with a buffer the reader takes results in
bursts.

A backstop makes "every accepted message comes back" independent of kafka-python:
a batch with no result ``producer.timeout + 1`` seconds after its delivery timeout
(kafka-python's own expiry) is sealed (later messages start a new batch) and its
messages failed by the expiry goroutine with a retriable :class:`BrokerError`; a
late result from kafka-python is then ignored. It only fires if kafka-python stops
expiring batches (as 3.0.x's sender does while it cannot reach any broker to ask for
an idempotent producer id).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from gochan import Chan, ClosedChannelError, Goroutine, Once, WaitGroup, WouldBlock, go

from ._aio import AioFace, Opening
from ._checks import new_partitioner, partition_index, prepare
from ._closing import wait_closed
from ._compression import compressor
from ._config import Compression, Config
from ._errors import (
    BrokerError,
    ClosedProducerError,
    ConfigurationError,
    NonTransactedProducerError,
    ProducerError,
    ProducerErrors,
    ShuttingDownError,
    TransactionNotReadyError,
)
from ._kafka import (
    TxnClient,
    appender,
    close_client,
    delivery_timeout,
    new_client,
    record_metrics,
    translate_error,
)
from ._message import IN_FLIGHT, ProducerMessage, claim_one, release
from ._metrics import Registry
from ._partitioner import Partitioner
from ._stall import annotate, idle_stage
from ._txn import (
    ConsumerGroupMetadata,
    PartitionOffsetMetadata,
    ProducerTxnStatusFlag,
    Transactions,
    group_id_only,
    message_offsets,
)

__all__ = ["AsyncProducer", "drain_until_finished", "parse_addrs"]

log = logging.getLogger("producer")

_CLOSE_GRACE = 1.0  # seconds kafka-python's sender gets to stop once nothing is in flight
_EXPIRY_PERIOD = 1.0  # seconds between two looks for overdue messages
_WINDOW_FACTOR = 4  # the window of messages in kafka-python's hands, per channel_buffer_size
_SHUTDOWN: Any = object()  # in-band marker sent on input() by async_close (sarama's shutdown)
_COMMIT: Any = object()  # in-band end-of-transaction markers (sarama's endtxn|committxn)
_ABORT: Any = object()  # ... and endtxn|aborttxn


def parse_addrs(addrs: str | Sequence[str]) -> list[str]:
    """Broker addresses as ``host:port`` strings; a comma-separated string is accepted.

    Raises:
        ConfigurationError: empty, or an address is not ``host:port`` with a valid port.
    """
    if isinstance(addrs, str):
        addrs = [a.strip() for a in addrs.split(",") if a.strip()]
    if not isinstance(addrs, Sequence) or not addrs:
        raise ConfigurationError("addrs: at least one broker address (host:port) is required")
    out = []
    for addr in addrs:
        if not isinstance(addr, str):
            raise ConfigurationError(f"addrs: {addr!r} is not a 'host:port' string")
        host, sep, port = addr.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(f"addrs: {addr!r} is not a valid 'host:port' address")
        out.append(addr)
    return out


class _Topics:
    """Partition lists per topic, refreshed every ``metadata.refresh_frequency``.

    A topic whose metadata cannot be had is remembered as failing for a short
    while, so a stream of messages to it fails fast instead of each waiting for
    metadata (sarama's topic circuit breaker plays the same role). Used by the
    dispatcher only.
    """

    def __init__(self, client: Any, config: Config) -> None:
        self._client = client
        self._refresh = config.metadata.refresh_frequency or float("inf")
        retry = config.metadata.retry
        self._negative_ttl = max(retry.backoff * (retry.max + 1), 1.0)
        self._wait = config.producer.timeout
        self._auto = config.metadata.allow_auto_topic_creation
        self._known: dict[str, tuple[float, list[int]]] = {}
        self._failing: dict[str, tuple[float, BaseException]] = {}

    def partitions(self, topic: str) -> list[int]:
        now = time.monotonic()
        known = self._known.get(topic)
        if known is not None and known[0] > now:
            return known[1]
        failing = self._failing.get(topic)
        if failing is not None and failing[0] > now:
            raise failing[1]
        try:
            ids = sorted(self._client.partitions_for(topic))
        except Exception as exc:
            err = BrokerError(
                f"unknown topic or partition: no metadata for topic {topic!r} after "
                f"{self._wait:g}s (topic auto-creation is {'on' if self._auto else 'off'}): {exc}",
                retriable=False,
            )
            err.__cause__ = exc
            self._failing[topic] = (now + self._negative_ttl, err)
            raise err from exc
        self._failing.pop(topic, None)
        self._known[topic] = (now + self._refresh, ids)
        return ids


class _Window:
    """The messages handed to kafka-python whose results are not yet delivered: at
    most ``size`` (our back-pressure; kafka-python has none of its own).

    Counted, not tokened: ``taken`` is written by the dispatcher only, ``_freed``
    under ``_lock`` by whoever delivers results (kafka-python's network thread, the
    result stage, the expiry goroutine, the dispatcher when an append fails), so a
    burst of results frees its slots in one step. A full window parks the dispatcher
    in a send on ``room`` (a gochan channel, so the stall watchdog reports it, with
    its hint); ``room`` holds one token, and a release takes it while ``_waiting``
    is set, which lets the parked send (or the next one) through.
    """

    __slots__ = ("_freed", "_lock", "_waiting", "room", "size", "taken")

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0
        self._freed = 0
        self._lock = threading.Lock()  # serialises the writers of _freed
        self.room: Chan[None] = Chan(1)  # full while nobody released: a send parks
        self.room.send(None)
        self._waiting = False

    def used(self) -> int:
        return self.taken - self._freed

    def wait_for_room(self) -> None:
        """Dispatcher only: park until a slot is free."""
        self._waiting = True
        try:
            # free() adds to _freed before it reads _waiting: either it sees the flag
            # and takes the token (this send then passes, parked or not), or this
            # re-check sees what it freed. A stale pass only costs one more loop.
            while self.taken - self._freed >= self.size:
                self.room.send(None)  # blocks while the window is full: our back-pressure
        finally:
            self._waiting = False

    def free(self, n: int) -> None:
        with self._lock:
            self._freed += n
        if self._waiting:
            try:
                self.room.try_recv()
            except WouldBlock:
                pass  # the token is gone already: the dispatcher will pass


class _Batch:
    """One kafka-python batch, our side: its messages, item i being record i (offset
    ``base_offset + i``). kafka-python completes the batch once, on its network
    thread, whatever the outcome; the expiry goroutine may fail it first. Whoever
    pops it from ``AsyncProducer._pending`` first reports its results."""

    __slots__ = ("items", "partition", "producer")

    def __init__(self, producer: AsyncProducer, partition: int) -> None:
        self.producer = producer
        self.partition = partition
        self.items: list[ProducerMessage] = []

    def completed(self, result: tuple[int, int, Callable[[int], BaseException] | None],
                  ) -> None:
        self.producer._batch_done(self, result)


# A result for the result stage: the batch, the first item not yet delivered, and
# kafka-python's record_exceptions_fn (None: the batch succeeded).
_Result = tuple[_Batch, int, "Callable[[int], BaseException] | None"]


class AsyncProducer(AioFace):
    """sarama's ``AsyncProducer``: send on :meth:`input`, read :meth:`successes` and
    :meth:`errors`.

    You must drain ``errors()`` (and ``successes()`` when
    ``config.producer.return_successes`` is set) or the producer will deadlock: it
    stops accepting input after ``2 * cbs + 4 * max(cbs, 1) + 1`` messages whose
    results nobody reads, ``cbs`` being ``channel_buffer_size`` (1537 by default; see
    the module docstring for the arithmetic).
    The recommended pattern is one ``select`` that sends on ``input()`` and receives
    from the result channels, or a goroutine per channel.

    Every message accepted by ``input()`` comes back exactly once: on ``successes()``
    (if enabled; otherwise it is only counted) or on ``errors()`` as a
    :class:`ProducerError` (if enabled; otherwise logged), in per-partition order.

    ``close()`` = ``async_close()`` + draining: it returns once every accepted message
    has been acknowledged or has failed, and raises :class:`ProducerErrors` if any
    failed. Messages sent while closing fail with :class:`ShuttingDownError`;
    ``input().send()`` after close raises ``send on closed channel``.
    """

    def __init__(self, addrs: str | Sequence[str], config: Config | None = None) -> None:
        if config is None:
            config = Config()
        if not isinstance(config, Config):
            raise TypeError(f"config must be a producer.Config, not {type(config).__name__}")
        config.validate()
        self._addrs = parse_addrs(addrs)
        self._config = config
        p = config.producer
        self._return_successes = p.return_successes
        self._return_errors = p.return_errors
        self._max_bytes = p.max_message_bytes
        self._headers_ok = config.version >= (0, 11)
        self._interceptors = list(p.interceptors)
        cbs = config.channel_buffer_size
        window = _WINDOW_FACTOR * max(cbs, 1)
        self._input: Chan[ProducerMessage] = Chan(cbs)
        # Buffered (sarama's are unbuffered): a Python thread hand-off costs ~20 us, and
        # with a buffer the reader takes results in bursts instead of one switch each.
        self._successes: Chan[ProducerMessage] = Chan(cbs)
        self._errors: Chan[ProducerError] = Chan(cbs)
        self._window = _Window(window)
        # Completed batches whose results may block, offered by kafka-python's network
        # thread and the expiry goroutine (never blocks: a batch holds at least one
        # window slot, so at most `window` of them exist at once).
        self._results: Chan[_Result] = Chan(window)
        # Batches offered to / finished by the result stage. While they are equal the
        # stage holds nothing, so successes may skip it without overtaking earlier
        # ones. `_offered` changes under `_order_lock` (taken on kafka-python's network
        # thread and the expiry goroutine); only the result stage writes `_collected`.
        self._order_lock = threading.Lock()
        self._offered = 0
        self._collected = 0
        # Batches handed to kafka-python whose results are not all delivered yet, plus
        # the shutdown marker. add(1) in _open_batch; done() once its last result is out.
        self._inflight = WaitGroup()
        self._close_once = Once()
        self._finished: Chan[None] = Chan()  # closed when shutdown has completed
        self._partitioners: dict[str, Partitioner] = {}
        self._valid_topics: set[str] = set()
        self._client = new_client(self._addrs, config)
        self._metrics = Registry()
        record_metrics(self._client, self._metrics, config.client_id)
        flush = p.flush  # sarama's per-batch record limits (validate() checked them)
        self._append, self._seal = appender(
            self._client, self._open_batch,
            compressor(Compression(p.compression), p.compression_level),
            max_records=flush.messages or flush.max_messages)
        self._txn: Transactions | None = None
        if p.transaction.id:
            self._txn = Transactions(TxnClient(self._client, config), self._flush_for_txn)
        self._closing = False
        self._topics = _Topics(self._client, config)
        # Batches handed to kafka-python -> the monotonic time after which the expiry
        # goroutine fails them. Plain dict operations are atomic under the GIL.
        self._pending: dict[_Batch, float] = {}
        self._overdue_after = delivery_timeout(config) + config.producer.timeout + 1.0
        # A plain Event, not a channel: a periodic timed wait is not a stall to warn about.
        self._stop_expiry = threading.Event()
        self._abandoned = False  # set by a Ctrl-C in close(): fail whatever is left
        self._own_threads: set[int] = set()
        annotate(self._input, self._successes, self._errors, self._window,
                 return_successes=self._return_successes, return_errors=self._return_errors)
        self._dispatcher = go(self._dispatch)
        self._result_stage = go(self._collect)
        self._expiry = go(self._expire_overdue)

    # -- the public channels -------------------------------------------------------

    def input(self) -> Chan[ProducerMessage]:
        """The channel to send :class:`ProducerMessage` s on (sarama's ``Input()``)."""
        return self._input

    def successes(self) -> Chan[ProducerMessage]:
        """Delivered messages, with ``partition`` and ``offset`` set (``Successes()``).

        You MUST read from this channel when ``return_successes`` is on, or the
        producer will deadlock. They arrive in bursts, a kafka-python batch at a time.
        """
        return self._successes

    def errors(self) -> Chan[ProducerError]:
        """Failed messages as :class:`ProducerError` (sarama's ``Errors()``).

        You MUST read from this channel (``return_errors`` is on by default), or
        the producer will deadlock after the first error.
        """
        return self._errors

    def metrics(self) -> dict[str, dict[str, Any]]:
        """A snapshot of sarama's producer and broker metrics (its go-metrics registry),
        ``{name: {key: value}}`` as go-metrics' ``GetAll()``.

        Meters (``record-send-rate``, ``request-rate``, ``response-rate``,
        ``outgoing-byte-rate``) give ``count``, ``1m.rate``, ``5m.rate``, ``15m.rate``
        and ``mean.rate`` per second; histograms (``batch-size``, ``records-per-request``,
        ``compression-ratio`` (x100), ``request-size``, ``request-latency-in-ms``) give
        ``count``, ``min``, ``max``, ``mean``, ``stddev``, ``median``, ``75%``, ``95%``,
        ``99%``, ``99.9%``; the counter ``requests-in-flight`` gives ``count``. Each has
        its ``-for-topic-<topic>`` (the producer metrics) or ``-for-broker-<id>`` (the
        broker metrics) forms, as in sarama. Gathered per produce request; a metric
        appears with its first request. Safe from any thread, also after close.
        """
        return self._metrics.snapshot()

    def _metrics_registry(self) -> Registry:
        return self._metrics

    # -- dispatcher: one goroutine ------------------------------------------------

    @idle_stage
    def _dispatch(self) -> None:
        """Singleton. Validates and partitions each message and appends it to a
        kafka-python batch."""
        self._own_threads.add(threading.get_ident())
        shutting_down = False
        raw: Chan[Any] = self._input  # users may send anything on it
        window = self._window
        size = window.size
        append = self._append
        valid = self._valid_topics
        plain_ok = not self._interceptors
        max_value = self._max_bytes - 36  # sarama's estimate for a bare value
        partition_of = self._partition
        txn = self._txn
        for msg in raw:
            if type(msg) is not ProducerMessage:
                if msg is _SHUTDOWN:
                    shutting_down = True
                    self._inflight.done()  # the marker's add(1) in _shutdown
                    continue
                if msg is _COMMIT or msg is _ABORT:
                    assert txn is not None
                    txn.marker_reached(msg is _COMMIT)
                    self._inflight.done()  # the marker's add(1) in _flush_for_txn
                    continue
                if not isinstance(msg, ProducerMessage):
                    self._deliver_error(msg, TypeError(
                        f"input() takes ProducerMessage objects, not {type(msg).__name__}"))
                    continue
            # In flight from here until its result is delivered (released there); our
            # SyncProducer claimed its own messages already (they carry a reply).
            if (msg._reply is None or msg._owner is not self) and not claim_one(msg, self):
                self._reject_in_flight(msg)
                continue
            if shutting_down:
                self._deliver_error(msg, ShuttingDownError())  # not counted, as in sarama
                continue
            if txn is not None and not txn.accepting:
                self._deliver_error(msg, TransactionNotReadyError(
                    "transaction manager: transaction is not ready: the message was sent "
                    "while no transaction was open (begin_txn() first)"))
                continue
            topic = msg.topic
            value = msg.value
            try:
                # The fast path: a bytes value, nothing else to encode or check.
                if (plain_ok and type(value) is bytes and msg.key is None
                        and msg.headers is None and msg.timestamp is None
                        and topic in valid and len(value) <= max_value):
                    key = headers = timestamp_ms = None
                    partition = partition_of(msg, topic)
                else:
                    key, value, headers, timestamp_ms, partition = self._prepare(msg)
            except Exception as exc:
                if txn is not None:
                    txn.failed(exc)
                self._deliver_error(msg, exc)
                continue
            if window.taken - window._freed >= size:
                window.wait_for_room()
            window.taken += 1  # freed once its result is delivered
            try:
                append(topic, partition, key, value, headers, timestamp_ms, msg)
            except Exception as exc:
                window.free(1)
                if txn is not None:
                    txn.failed(exc)
                self._deliver_error(msg, translate_error(exc))

    def _prepare(self, msg: ProducerMessage) -> tuple[Any, Any, Any, int | None, int]:
        """Interceptors, then every check and encoding (:func:`producer._checks.prepare`,
        shared with the mocks): ``(key, value, headers, timestamp_ms, partition)``."""
        if self._interceptors:
            self._intercept(msg)
        topic = msg.topic
        known = topic in self._valid_topics
        key, value, headers, timestamp_ms = prepare(msg, self._max_bytes, known,
                                                    self._headers_ok)
        if not known:
            self._valid_topics.add(topic)
        return key, value, headers, timestamp_ms, self._partition(msg, topic)

    def _open_batch(self, topic: str, partition: int) -> _Batch:
        """Called by the appender (dispatcher thread, partition lock held) for each new
        kafka-python batch."""
        batch = _Batch(self, partition)
        self._inflight.add(1)  # done() once its last result is delivered
        self._pending[batch] = time.monotonic() + self._overdue_after
        return batch

    def _intercept(self, msg: ProducerMessage) -> None:
        for interceptor in self._interceptors:
            try:
                interceptor.on_send(msg)
            except Exception:
                log.exception("producer: interceptor %r failed", interceptor)

    def _partition(self, msg: ProducerMessage, topic: str) -> int:
        ids = self._topics.partitions(topic)
        partitioner = self._partitioners.get(topic)
        if partitioner is None:
            partitioner = self._partitioners[topic] = new_partitioner(
                self._config.producer.partitioner, topic)
        return ids[partition_index(partitioner, msg, len(ids))]

    # -- kafka-python's network thread: never blocks ------------------------------

    def _batch_done(self, batch: _Batch,
                    result: tuple[int, int, Callable[[int], BaseException] | None]) -> None:
        """A batch's result from kafka-python (its network thread)."""
        if self._pending.pop(batch, None) is None:
            return  # already failed as overdue
        base_offset, append_time_ms, record_error = result
        if record_error is not None:
            self._report_failure(batch, record_error)
            return
        msgs = batch.items
        partition = batch.partition
        if base_offset is not None and base_offset >= 0:
            for offset, msg in enumerate(msgs, base_offset):
                msg.partition = partition
                msg.offset = offset
        else:  # acks=0: no offsets
            for msg in msgs:
                msg.partition = partition
        if append_time_ms is not None and append_time_ms > 0:  # LogAppendTime
            for msg in msgs:
                if msg.timestamp is None:
                    msg.timestamp = append_time_ms / 1000
        if self._return_successes and msgs[0]._reply is None:
            with self._order_lock:
                sent = 0
                if self._offered == self._collected:  # the stage holds nothing earlier
                    for msg in msgs:
                        msg._owner = None  # delivered: the user may send it again at once
                    sent = self._successes._try_send_many(msgs, 0)  # spares the stage a hop
                    if sent:
                        self._window.free(sent)
                    if sent == len(msgs):
                        self._inflight.done()
                        return
                    for msg in msgs[sent:]:
                        msg._owner = self  # not delivered: held while the stage waits
                self._offer((batch, sent, None))  # the rest waits in the stage for room
            return
        # Nothing can block: finish here and spare the result stage a hop.
        for msg in msgs:
            reply = msg._reply
            if reply is not None:
                reply.put(msg, None)  # never blocks; our SyncProducer releases it
            else:
                msg._owner = None  # only counted: its result is "delivered"
        self._window.free(len(msgs))
        self._inflight.done()

    def _report_failure(self, batch: _Batch, record_error: Callable[[int], BaseException],
                        ) -> None:
        msgs = batch.items
        if self._txn is not None:
            first = record_error(0)
            reported = self._txn.failed(first)
            if reported is not first:
                record_error = functools.partial(_same_error, reported)
        if msgs[0]._reply is None:
            with self._order_lock:
                self._offer((batch, 0, record_error))
            return
        for i, msg in enumerate(msgs):
            reply = msg._reply
            assert reply is not None  # a SyncProducer's messages all have one
            reply.put(msg, translate_error(record_error(i)))
        self._window.free(len(msgs))
        self._inflight.done()

    def _offer(self, result: _Result) -> None:
        """Hand a batch to the result stage and count it; call with ``_order_lock`` held."""
        self._offered += 1
        try:
            self._results.try_send(result)
        except WouldBlock:  # cannot happen while the window invariant holds
            log.error("producer: results channel full; delivering from a helper goroutine")
            go(self._results.send, result)

    # -- expiry: one goroutine, the backstop for kafka-python's delivery timeout -----

    def _expire_overdue(self) -> None:
        """Singleton. Fails batches kafka-python has held past their deadline."""
        stop = self._stop_expiry
        while not stop.wait(_EXPIRY_PERIOD):  # set by _shutdown
            now = time.monotonic()
            abandoned = self._abandoned
            for batch, deadline in self._pending.copy().items():
                if deadline > now and not abandoned:
                    continue
                self._seal(batch)  # first: nothing may join a batch once it has failed
                if self._pending.pop(batch, None) is None:
                    continue
                if abandoned:
                    items = batch.items
                    log.error("producer: close() abandoned: %d undelivered messages to %s "
                              "partition %d failed (they may or may not have been written)",
                              len(items), items[0].topic if items else "?", batch.partition)
                    self._report_failure(batch, functools.partial(_same_error, _ABANDONED))
                    continue
                log.warning("producer: no result from the Kafka client %.1fs after a batch "
                            "of %d messages was handed to it; failing them",
                            self._overdue_after, len(batch.items))
                err = BrokerError(
                    f"kafka: no result from the Kafka client {self._overdue_after:g}s "
                    f"after the message was handed to it (past its delivery timeout); "
                    f"it may still have been written", retriable=True)
                self._report_failure(batch, functools.partial(_same_error, err))

    # -- result stage: one goroutine -----------------------------------------------

    @idle_stage
    def _collect(self) -> None:
        """Singleton. Delivers the results that may block (successes when returned, and
        errors) in completion order; frees each window slot once its result is out."""
        self._own_threads.add(threading.get_ident())
        free = self._window.free
        done = self._inflight.done
        successes = self._successes
        send_many = successes._try_send_many
        cap = successes.cap
        for batch, start, record_error in self._results:
            msgs = batch.items
            n = len(msgs)
            i = start
            if record_error is None:
                while i < n:
                    # While this stage holds a batch it is the only sender on successes()
                    # (readers only make room), so `room` of them fit: released just
                    # before delivery, the reader may send them again at once.
                    room = min(cap - len(successes), n - i)
                    if room > 0:
                        for msg in msgs[i:i + room]:
                            msg._owner = None
                        sent = send_many(msgs, i, room)  # == room
                        free(sent)  # before blocking: a full successes() stalls exactly
                        i += sent
                    if i < n:
                        msg = msgs[i]
                        msg._owner = None
                        successes.send(msg)  # filled in by _batch_done
                        free(1)
                        i += 1
            else:
                for i in range(start, n):
                    self._deliver_error(msgs[i], translate_error(record_error(i)))
                    free(1)
            self._collected += 1
            done()

    # -- results of messages that never reached kafka-python -----------------------

    def _deliver_error(self, msg: Any, err: BaseException) -> None:
        if isinstance(msg, ProducerMessage):
            reply = msg._reply
            if reply is not None:
                reply.put(msg, err)  # our SyncProducer releases it
                return
            release(msg, self)  # before the send: the reader may send it again at once
        self._send_error(msg, err)

    def _reject_in_flight(self, msg: ProducerMessage) -> None:
        """Fail a message object that is already in flight, leaving its first send alone."""
        self._send_error(msg, ValueError(IN_FLIGHT))

    def _send_error(self, msg: Any, err: BaseException) -> None:
        perror = ProducerError(msg if isinstance(msg, ProducerMessage) else None, err)
        if self._return_errors:
            self._errors.send(perror)
        else:
            log.error("%s", perror)

    # -- transactions (sarama's transactional producer) ----------------------------

    def is_transactional(self) -> bool:
        """Whether ``producer.transaction.id`` is set (sarama's ``IsTransactional``)."""
        return self._txn is not None

    def txn_status(self) -> ProducerTxnStatusFlag:
        """sarama's ``TxnStatus``: the transaction status flags. A producer without a
        transaction id is ``READY`` when idempotent, else ``UNINITIALIZED`` (as sarama's)."""
        if self._txn is None:
            return (ProducerTxnStatusFlag.READY if self._config.producer.idempotent
                    else ProducerTxnStatusFlag.UNINITIALIZED)
        return self._txn.status()

    def _transactions(self) -> Transactions:
        if self._txn is None:
            raise NonTransactedProducerError()
        if self._closing:
            raise ClosedProducerError("kafka: tried to use a producer that was closed")
        return self._txn

    def begin_txn(self) -> None:
        """Open a transaction (sarama's ``BeginTxn``): messages sent on ``input()`` from
        now until ``commit_txn()``/``abort_txn()`` belong to it.

        Raises:
            NonTransactedProducerError: no ``producer.transaction.id``.
            TransitionNotAllowedError: the status is not ``READY`` (a transaction is
                open, or the producer is in error).
        """
        self._transactions().begin()

    def commit_txn(self) -> None:
        """Commit the open transaction (sarama's ``CommitTxn``).

        Waits until every message sent before the call has its result (keep reading
        ``successes()`` and ``errors()`` meanwhile, or it waits for ever, as sarama's
        does), publishes the offsets of :meth:`add_offsets_to_txn`, then ends the
        transaction. Messages sent from the start of the call fail with
        :class:`TransactionNotReadyError`.

        Raises:
            KafkaError: a message of the transaction failed, or the transaction
                could not be committed: the status is then ``IN_ERROR|ABORTABLE_ERROR``
                (call :meth:`abort_txn`) or ``IN_ERROR|FATAL_ERROR`` (close the
                producer; :class:`ProducerFencedError` when fenced).
        """
        self._end_txn(commit=True)

    def abort_txn(self) -> None:
        """Abort the open transaction (sarama's ``AbortTxn``): waits for the messages
        sent before it as :meth:`commit_txn` does, then aborts; ``read_committed``
        consumers never see them. Refused only after a fatal error."""
        self._end_txn(commit=False)

    def _end_txn(self, commit: bool) -> None:
        if threading.get_ident() in self._own_threads:
            raise RuntimeError(f"{'commit' if commit else 'abort'}_txn() called from the "
                               "producer's own goroutine would deadlock")
        self._transactions().end(commit)

    def _flush_for_txn(self, commit: bool) -> None:
        """Push an end marker through ``input()`` and wait until every message sent
        before it has its result (sarama's finishTransaction)."""
        self._inflight.add(1)  # the dispatcher's done() matches it
        try:
            self._input.send(_COMMIT if commit else _ABORT)
        except ClosedChannelError:
            self._inflight.done()
            raise ClosedProducerError("kafka: tried to use a producer that was closed") from None
        self._inflight.wait()

    def add_offsets_to_txn(self, offsets: dict[str, list[PartitionOffsetMetadata]],
                           group_id: str) -> None:
        """Commit consumer offsets with the transaction (sarama's ``AddOffsetsToTxn``):
        ``{topic: [PartitionOffsetMetadata(partition, next_offset), ...]}`` for the
        consumer group ``group_id``. Kept until ``commit_txn()`` publishes them; an
        abort drops them.

        Raises:
            TransactionNotReadyError: no transaction is open.
        """
        self._transactions().add_offsets(offsets, group_id_only(group_id))

    def add_offsets_to_txn_with_group_metadata(
            self, offsets: dict[str, list[PartitionOffsetMetadata]],
            group_metadata: ConsumerGroupMetadata | Any) -> None:
        """sarama's ``AddOffsetsToTxnWithGroupMetadata`` (KIP-447): as
        :meth:`add_offsets_to_txn`, for the member ``group_metadata`` describes (a
        :class:`ConsumerGroupMetadata`, or kafka-python's
        ``KafkaConsumer.group_metadata()``); the broker refuses the commit if a
        rebalance replaced that member (the transaction becomes abortable)."""
        self._transactions().add_offsets(offsets, group_metadata)

    def add_message_to_txn(self, msg: Any, group_id: str, metadata: str | None = None,
                           ) -> None:
        """sarama's ``AddMessageToTxn``: :meth:`add_offsets_to_txn` with the consumed
        message's offset + 1. ``msg`` has ``topic``, ``partition`` and ``offset`` (a
        kafka-python ``ConsumerRecord`` does)."""
        self._transactions().add_offsets(message_offsets(msg, metadata),
                                         group_id_only(group_id))

    def add_message_to_txn_with_group_metadata(
            self, msg: Any, group_metadata: ConsumerGroupMetadata | Any,
            metadata: str | None = None) -> None:
        """sarama's ``AddMessageToTxnWithGroupMetadata``: :meth:`add_message_to_txn` for
        the member ``group_metadata`` describes (see
        :meth:`add_offsets_to_txn_with_group_metadata`)."""
        self._transactions().add_offsets(message_offsets(msg, metadata), group_metadata)

    # -- shutdown ----------------------------------------------------------------

    def async_close(self) -> None:
        """Start shutting down and return at once (sarama's ``AsyncClose()``).

        You must keep draining ``successes()`` and ``errors()`` until both are
        closed; the producer closes them once every accepted message has been
        acknowledged or has failed. Calling it again is harmless. An open
        transaction is not committed: the broker aborts it after
        ``producer.transaction.timeout`` (sarama's behaviour too).
        """
        self._closing = True
        self._close_once.do(lambda: go(self._shutdown))

    @idle_stage
    def _shutdown(self) -> None:
        self._inflight.add(1)  # the marker; the dispatcher's done() matches it
        self._input.send(_SHUTDOWN)
        self._inflight.wait()  # every accepted message has its result: this is the flush
        self._stop_expiry.set()
        self._expiry.join()
        self._input.close()
        self._dispatcher.join()
        self._results.close()
        self._result_stage.join()
        # Every accepted message has its result, so kafka-python has nothing left to
        # deliver; its sender may still wait on requests to frozen brokers, which a
        # short grace (then a forced close) cuts off instead of a whole delivery timeout.
        close_client(self._client, timeout=0.0 if self._abandoned else _CLOSE_GRACE,
                     stop_within=self._config.producer.timeout + _CLOSE_GRACE)
        self._errors.close()
        self._successes.close()
        self._finished.close()

    def close(self) -> None:
        """Shut down and wait: sarama's ``Close()``.

        Drains (and discards) ``successes()``, collects ``errors()``, and returns
        once every accepted message has been acknowledged or has failed; then every
        thread the producer started has ended. A second call returns at once.

        Waiting longer than a second (at once when a ``with`` block exits on an
        exception), it logs on the ``producer`` logger what it waits for and for how
        long at most. A ``KeyboardInterrupt`` while it waits abandons the wait: every
        undelivered message fails at once (``ShuttingDownError``), the producer's
        threads end, the failures are logged, and the interrupt propagates.

        Raises:
            ProducerErrors: the errors collected while closing, if any.
            RuntimeError: called from one of the producer's own threads (a
                partitioner or interceptor), where it would deadlock.
        """
        self._close_and_wait(announce=False)

    def _close_and_wait(self, *, announce: bool, collect: bool = True) -> None:
        """close() for both producers; see :mod:`producer._closing`."""
        if threading.get_ident() in self._own_threads:
            raise RuntimeError("close() called from the producer's own goroutine (a partitioner "
                               "or interceptor callback) would deadlock; use async_close()")
        self.async_close()
        collected = wait_closed(self._successes if self._return_successes else None,
                                self._errors if self._return_errors else None,
                                self._finished, waiting_for=self._waiting_for,
                                abandon=self._abandon, announce=announce)
        if collected and collect:
            raise ProducerErrors(collected)

    def _waiting_for(self) -> str | None:
        """What close() waits for, and for how long at most; ``None``: nothing."""
        now = time.monotonic()
        pending = self._pending.copy()
        held = sum(len(batch.items) for batch in pending)
        queued = len(self._input)
        if not held and not queued:
            return None
        left = [deadline - now for deadline in pending.values()]
        if queued:
            left.append(self._overdue_after)
        p = self._config.producer
        return (f"{held + queued} messages in flight ({held} with the Kafka client, {queued} "
                f"queued) to be acknowledged or to fail: at most {max(left):.0f}s (their "
                f"delivery timeout of {delivery_timeout(self._config):g}s, producer.retry.max "
                f"+ 1 = {p.retry.max + 1} attempts of producer.timeout + retry.backoff, plus "
                f"{p.timeout + 1:g}s for a stuck client)")

    def _abandon(self) -> float:
        """Fail every message still in flight (Ctrl-C in close()); returns how long the
        shutdown may still take."""
        self._abandoned = True  # the expiry goroutine fails every batch, from its next look
        self.async_close()
        return _EXPIRY_PERIOD + self._config.producer.timeout + 2 * _CLOSE_GRACE + 1.0

    @property
    def closed(self) -> bool:
        """Whether shutdown has completed."""
        return self._finished.closed

    def __enter__(self) -> AsyncProducer:
        return self

    @classmethod
    def open_async(cls, addrs: str | Sequence[str],
                   config: Config | None = None) -> Opening[AsyncProducer]:
        """The constructor for asyncio: ``async with AsyncProducer.open_async(addrs) as p``
        (or ``p = await AsyncProducer.open_async(addrs)``) builds the producer, and in
        ``async with`` closes it, in a goroutine: the event loop never blocks. Then use
        ``input().send_async``, ``successes().recv_async``, ``errors().recv_async`` and
        ``gochan.select_async``; ``await p.aclose()`` is ``close()`` off the loop."""
        return Opening(lambda: cls(addrs, config))

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._close_and_wait(announce=exc_type is not None)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncProducer {','.join(self._addrs)} {state}>"


# What an abandoned close() fails the undelivered messages with.
_ABANDONED = ShuttingDownError("kafka: close() was interrupted before Kafka answered; the "
                               "message may or may not have been written")


def _same_error(err: BaseException, _index: int) -> BaseException:
    return err


@idle_stage
def drain_until_finished(successes: Chan[Any] | None, errors: Chan[ProducerError] | None,
                         finished: Chan[None]) -> list[ProducerError]:
    """The draining half of ``close()``: discard ``successes`` (in a goroutine), collect
    ``errors`` until closed, and wait for ``finished`` to close. A ``None`` channel is
    one the config does not return."""
    drainer: Goroutine | None = None
    if successes is not None:
        drainer = go(_drain, successes)
    collected: list[ProducerError] = list(errors) if errors is not None else []
    finished.recv()
    if drainer is not None:
        drainer.join()
    return collected


@idle_stage
def _drain(chan: Chan[Any]) -> None:
    for _ in chan:
        pass
