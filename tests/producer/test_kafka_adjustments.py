"""The kafka-python 3.0 hooks and adjustments in ``producer._kafka``, checked without a
broker.

The functional and reliability tests check their effect on a real cluster; these pin the
mechanism (every private structure the producer touches), so that a kafka-python upgrade
that changes one fails here first, in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka.producer.transaction_manager import (
    ProducerIdAndEpoch,
    TransactionManager,
    TransactionState,
)

from producer import Config
from producer._kafka import (
    _align_with_sarama,
    _backoff_by_func,
    _full_metadata,
    _reinitialise_after_reset,
    appender,
    client_settings,
    close_client,
    fast_builder,
    refuse_batch_splitting,
)


def ready_manager() -> TransactionManager:
    """An idempotent producer's manager that holds producer id 7 (state READY)."""
    manager = TransactionManager()
    manager.init_producer_id()
    manager._transition_to(TransactionState.READY)
    manager.set_producer_id_and_epoch(ProducerIdAndEpoch(7, 0))
    manager._pending_requests.clear()
    return manager


@pytest.mark.timeout(10)
def test_kafka_python_alone_never_asks_for_a_new_producer_id_after_a_reset() -> None:
    """The bug being worked around: if this starts failing, kafka-python fixed it."""
    manager = ready_manager()
    manager.reset_producer_id()
    manager.init_producer_id()
    assert not manager.has_producer_id()
    assert manager._current_state == TransactionState.READY
    assert manager._pending_requests == []  # nothing will ever fetch a new id


@pytest.mark.timeout(10)
def test_after_a_reset_the_manager_asks_for_a_new_producer_id() -> None:
    manager = ready_manager()
    _reinitialise_after_reset(manager)
    manager.reset_producer_id()
    assert not manager.has_producer_id()
    assert manager._current_state == TransactionState.UNINITIALIZED
    manager.init_producer_id()  # what the sender's run_once calls next
    assert manager._current_state == TransactionState.INITIALIZING
    assert len(manager._pending_requests) == 1


@pytest.mark.timeout(10)
def test_a_reset_while_an_id_request_is_under_way_leaves_it_alone() -> None:
    manager = TransactionManager()
    _reinitialise_after_reset(manager)
    manager.init_producer_id()
    manager.reset_producer_id()
    assert manager._current_state == TransactionState.INITIALIZING
    assert len(manager._pending_requests) == 1


@pytest.mark.timeout(10)
def test_transactional_managers_are_not_touched() -> None:
    manager = TransactionManager(transactional_id="tx")
    reset = manager.reset_producer_id
    _reinitialise_after_reset(manager)
    assert manager.reset_producer_id == reset


# -- the per-batch engine's hooks, on a real KafkaProducer that has no broker -------------
#
# kafka-python 3.0 builds a KafkaProducer without reaching a broker when api_version is
# given; its accumulator and sender are then real, and nothing is ever sent.

class Sink:
    """A BatchSink that records what kafka-python completes it with."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.results: list[tuple[Any, Any, Any]] = []

    def completed(self, result: tuple[Any, Any, Any]) -> None:
        self.results.append(result)


@pytest.fixture
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    import kafka

    config = Config()
    config.metadata.allow_auto_topic_creation = False  # kafka-python's default is True
    settings = client_settings(["127.0.0.1:1"], config)
    settings.update(getattr(request, "param", {}))
    settings["api_version"] = (2, 8)
    producer = kafka.KafkaProducer(**settings)
    _align_with_sarama(producer, config)
    refuse_batch_splitting(producer)
    try:
        yield producer
    finally:
        close_client(producer, timeout=0, stop_within=5)


def open_sinks() -> tuple[list[tuple[str, int, Sink]], Callable[[str, int], Sink]]:
    opened: list[tuple[str, int, Sink]] = []

    def open_batch(topic: str, partition: int) -> Sink:
        sink = Sink()
        opened.append((topic, partition, sink))
        return sink

    return opened, open_batch


def take(client: Any, batch: Any) -> None:
    """What the sender does around a batch it sends and completes: out of the queue,
    then (after completion) out of the incomplete set."""
    client._accumulator._batches[batch.topic_partition].remove(batch)
    client._accumulator.deallocate(batch)


@pytest.mark.timeout(10)
def test_kafka_python_builds_a_producer_without_a_broker(client: Any) -> None:
    assert client._accumulator.config["message_version"] == 2
    assert client._sender.config["guarantee_message_order"] is True  # _align_with_sarama
    assert client._metadata.config["allow_auto_create_topics"] is False


@pytest.mark.timeout(10)
def test_appends_join_the_open_batch_and_one_completion_reaches_the_sink(client: Any) -> None:
    from kafka.structs import TopicPartition

    opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    for i in range(5):
        append("t", 1, None, b"v%d" % i, None, None, f"m{i}")
    append("t", 2, b"k", b"v", [("h", b"x")], 1_700_000_000_000, "other")
    assert [(t, p) for t, p, _ in opened] == [("t", 1), ("t", 2)]
    sink = opened[0][2]
    assert sink.items == ["m0", "m1", "m2", "m3", "m4"]
    (batch,) = client._accumulator._batches[TopicPartition("t", 1)]
    assert batch.record_count == 5
    assert batch in client._accumulator._incomplete.all()
    assert batch._record_futures == []  # no future per record
    take(client, batch)
    batch.complete(100, -1)  # what the sender does on a produce response
    assert sink.results == [(100, -1, None)]


@pytest.mark.timeout(10)
def test_a_failed_or_expired_batch_completes_with_record_exceptions(client: Any) -> None:
    import kafka.errors as kerrors
    from kafka.structs import TopicPartition

    opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    append("t", 0, None, b"a", None, None, "a")
    append("t", 0, None, b"b", None, None, "b")
    (batch,) = client._accumulator._batches[TopicPartition("t", 0)]
    exc = kerrors.NotLeaderForPartitionError()
    take(client, batch)
    batch.complete_exceptionally(exc, lambda i: exc)
    ((base, _time, record_error),) = opened[0][2].results
    assert base is None and record_error(1) is exc
    append("t", 0, None, b"c", None, None, "c")  # the last batch is done: a new one
    batch2 = client._accumulator._batches[TopicPartition("t", 0)][-1]
    take(client, batch2)
    batch2.abort(kerrors.KafkaTimeoutError("expired"))  # expiry and forced close
    ((base, _time, record_error),) = opened[1][2].results
    assert base == -1 and isinstance(record_error(0), kerrors.KafkaTimeoutError)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("client", [{"batch_size": 1024}], indirect=True)
def test_a_full_batch_starts_a_new_one(client: Any) -> None:
    from kafka.structs import TopicPartition

    opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    for i in range(40):
        append("t", 0, None, b"x" * 100, None, None, i)
    dq = client._accumulator._batches[TopicPartition("t", 0)]
    assert len(dq) == len(opened) > 1
    assert [s.items for _, _, s in opened] == [
        list(range(sum(b.record_count for b in list(dq)[:k]),
                   sum(b.record_count for b in list(dq)[:k + 1]))) for k in range(len(dq))]


@pytest.mark.timeout(10)
def test_seal_makes_the_next_append_start_a_new_batch(client: Any) -> None:
    opened, open_batch = open_sinks()
    append, seal = appender(client, open_batch)
    append("t", 0, None, b"a", None, None, "a")
    seal(opened[0][2])
    append("t", 0, None, b"b", None, None, "b")
    assert [s.items for _, _, s in opened] == [["a"], ["b"]]


@pytest.mark.timeout(10)
def test_appends_to_a_closed_accumulator_fail(client: Any) -> None:
    import kafka.errors as kerrors

    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    client._accumulator.close()
    with pytest.raises(kerrors.IllegalStateError):
        append("t", 0, None, b"a", None, None, "a")
    with pytest.raises(ValueError, match="key or value"):
        append("t", 0, None, None, None, None, "a")


@pytest.mark.timeout(10)
def test_batch_splitting_is_refused(client: Any) -> None:
    """kafka-python splits a batch the broker finds too large, through per-record
    futures that the per-batch engine does not make: refused, the batch fails."""
    import kafka
    import kafka.errors as kerrors
    from kafka.structs import TopicPartition

    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    append("t", 0, None, b"a", None, None, "a")
    append("t", 0, None, b"b", None, None, "b")
    (batch,) = client._accumulator._batches[TopicPartition("t", 0)]
    assert not client._sender._can_split(batch, kerrors.MessageSizeTooLargeError)
    # the hook exists and says yes without the adjustment
    assert kafka.producer.sender.Sender._can_split(client._sender, batch,
                                                   kerrors.MessageSizeTooLargeError)


needs_accelerator = pytest.mark.skipif(
    fast_builder() is None, reason="the compiled record builder is not in use (the `accel` "
    "extra is missing, or PRODUCER_NO_ACCELERATOR=1): the fallback run")


@needs_accelerator
@pytest.mark.timeout(10)
def test_batches_are_written_by_the_compiled_builder(client: Any) -> None:
    from kafka.structs import TopicPartition

    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    append("t", 0, None, b"a", None, None, "a")
    (batch,) = client._accumulator._batches[TopicPartition("t", 0)]
    assert type(batch.records._builder) is fast_builder()


@needs_accelerator
@pytest.mark.timeout(10)
@pytest.mark.parametrize("idempotent", [False, True])
def test_the_compiled_builder_writes_kafka_pythons_bytes(idempotent: bool) -> None:
    """The same records give the same batch but for PartitionLeaderEpoch (bytes 12-15,
    outside the CRC; the broker sets it)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    def build(cls: Any) -> bytes:
        builder = cls(2, 0, 0, -1, -1, -1, 16384)
        for i in range(50):
            headers = [("h", b"%d" % i)] if i % 3 else []
            key = b"k%d" % i if i % 2 else None
            assert builder.append(i, 1_700_000_000_000 + i, key, b"v" * i, headers) is not None
        if idempotent:
            builder.set_producer_state(4711, 3, 1000, False)
        return bytes(builder.build())

    ours, theirs = build(fast_builder()), build(DefaultRecordBatchBuilder)
    assert len(ours) == len(theirs)
    assert ours[:12] == theirs[:12] and ours[16:] == theirs[16:]


@pytest.mark.timeout(10)
def test_the_environment_switch_forces_the_pure_builder(monkeypatch: pytest.MonkeyPatch,
                                                        ) -> None:
    import producer._kafka as pk

    monkeypatch.setattr(pk, "_FAST_BUILDER_LOADED", False)
    monkeypatch.setattr(pk, "_FAST_BUILDER", None)
    monkeypatch.setenv(pk.NO_ACCELERATOR_ENV, "1")
    assert pk.fast_builder() is None


# -- transactions: the appender registers partitions, TxnClient drives the manager ----------

def txn_client_config() -> Config:
    config = Config()
    config.producer.idempotent = True
    config.producer.required_acks = -1
    config.net.max_open_requests = 1
    config.producer.transaction.id = "tx-1"
    config.producer.transaction.timeout = 12.5
    config.metadata.allow_auto_topic_creation = False
    return config


@pytest.fixture
def txn_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A transactional KafkaProducer without a broker, its manager READY as if
    InitProducerId had answered. Its sender thread is not started: the tests look at
    the manager's sets, which that thread would move meanwhile."""
    import kafka
    from kafka.producer.sender import Sender

    config = txn_client_config()
    settings = client_settings(["127.0.0.1:1"], config)
    settings["api_version"] = (2, 8)
    monkeypatch.setattr(Sender, "start", lambda self: None)
    producer = kafka.KafkaProducer(**settings)
    _align_with_sarama(producer, config)
    manager = producer._transaction_manager
    manager._transition_to(TransactionState.INITIALIZING)
    manager.set_producer_id_and_epoch(ProducerIdAndEpoch(9, 0))
    manager._transition_to(TransactionState.READY)
    try:
        yield producer
    finally:
        close_client(producer, timeout=0, stop_within=5)
        producer._closed = True  # its sender never ran: nothing for __del__ to flush


def test_transactional_settings() -> None:
    settings = client_settings(["127.0.0.1:1"], txn_client_config())
    assert settings["transactional_id"] == "tx-1"
    assert settings["transaction_timeout_ms"] == 12_500
    assert "transactional_id" not in client_settings(["127.0.0.1:1"], Config())


@pytest.mark.timeout(10)
def test_a_new_batch_registers_its_partition_with_the_transaction(txn_client: Any) -> None:
    """KafkaProducer.send calls maybe_add_partition_to_transaction; our appender does it
    once per new batch, or the sender never sends AddPartitionsToTxn and the accumulator
    never drains the batch (is_send_to_partition_allowed)."""
    import kafka.errors as kerrors
    from kafka.structs import TopicPartition

    manager = txn_client._transaction_manager
    opened, open_batch = open_sinks()
    append, _seal = appender(txn_client, open_batch)
    with pytest.raises(kerrors.IllegalStateError):  # no transaction open: kafka-python's rule
        append("t", 0, None, b"a", None, None, "a")
    manager.begin_transaction()
    append("t", 0, None, b"a", None, None, "a")
    append("t", 0, None, b"b", None, None, "b")
    append("t", 3, None, b"c", None, None, "c")
    # Registered: new, or already moved to pending (or added) by kafka-python's sender
    # thread, which runs meanwhile and may pick them up at once.
    with manager._lock:
        registered = (manager._new_partitions_in_transaction
                      | manager._pending_partitions_in_transaction
                      | manager._partitions_in_transaction)
    assert registered == {TopicPartition("t", 0), TopicPartition("t", 3)}
    (batch,) = txn_client._accumulator._batches[TopicPartition("t", 0)]
    assert type(batch.records._builder).__module__.startswith("kafka.")  # not the compiled one
    assert [s.items for _, _, s in opened] == [["a", "b"], ["c"]]


@pytest.mark.timeout(10)
def test_a_failed_message_makes_the_transaction_abortable(txn_client: Any) -> None:
    """kafka-python leaves the state alone for a retriable error it gave up on; sarama
    (and so TxnClient.fail) makes the transaction abortable whatever the error."""
    import kafka.errors as kerrors

    from producer._kafka import TxnClient

    manager = txn_client._transaction_manager
    txn = TxnClient(txn_client, txn_client_config())
    manager.begin_transaction()
    assert txn.state() == "IN_TRANSACTION"
    exc = kerrors.RequestTimedOutError()
    assert txn.fail(exc) is exc
    assert txn.state() == "ABORTABLE_ERROR"
    assert "RequestTimedOutError" in str(txn.last_error())


@pytest.mark.timeout(10)
def test_an_old_epoch_is_fencing_and_fatal(txn_client: Any) -> None:
    import kafka.errors as kerrors

    from producer import ProducerFencedError
    from producer._kafka import TxnClient, translate_error

    manager = txn_client._transaction_manager
    txn = TxnClient(txn_client, txn_client_config())
    manager.begin_transaction()
    reported = txn.fail(kerrors.InvalidProducerEpochError())
    assert isinstance(reported, kerrors.ProducerFencedError)
    assert txn.state() == "FATAL_ERROR"
    ours = translate_error(reported)
    assert isinstance(ours, ProducerFencedError) and "fenced" in str(ours)
    assert "producer.transaction.id" in str(ours)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("client", [{"compression_type": "gzip"}], indirect=True)
@pytest.mark.parametrize("idempotent", [False, True])
def test_compressed_batches_use_our_codec_at_its_level(client: Any, idempotent: bool) -> None:
    """kafka-python's builder, with our compressor (kafka-python passes no level): the
    batch holds what ``compress`` made of its records, and reads back with
    kafka-python's reader."""
    from kafka.record.memory_records import MemoryRecords
    from kafka.structs import TopicPartition

    from producer._compression import compressor
    from producer._config import Compression

    made: list[bytes] = []
    level1 = compressor(Compression.GZIP, 1)
    assert level1 is not None

    def compress(data: bytes) -> bytes:
        made.append(level1(data))
        return made[-1]

    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch, compress)
    records = [(b"k%d" % i, b"value %d " % i * 20, [("h", b"%d" % i)]) for i in range(100)]
    for i, (key, value, headers) in enumerate(records):
        append("t", 0, key, value, headers, None, i)
    (batch,) = client._accumulator._batches[TopicPartition("t", 0)]
    if idempotent:
        batch.records.set_producer_state(4711, 3, 1000, False)
    batch.records.close()
    raw = bytes(batch.records.buffer())
    assert len(made) == 1 and raw[61:] == made[0]  # 61: the record batch header
    read = MemoryRecords(raw).next_batch()
    assert read.compression_type == 1  # gzip
    if idempotent:
        assert (read.producer_id, read.producer_epoch, read.base_sequence) == (4711, 3, 1000)
    assert [(r.key, r.value, r.headers) for r in read] == records


# -- issue 16: flush.messages / max_messages, backoff_func, metadata.full, timeouts ---------

@pytest.mark.timeout(10)
def test_a_batch_at_max_records_is_ready_at_once_and_the_next_record_starts_a_new_one(
        client: Any) -> None:
    from kafka.structs import TopicPartition

    opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch, max_records=3)
    for i in range(7):
        append("t", 0, None, b"x", None, None, i)
    assert [s.items for _, _, s in opened] == [[0, 1, 2], [3, 4, 5], [6]]
    dq = list(client._accumulator._batches[TopicPartition("t", 0)])
    assert [b.records.is_full() for b in dq] == [True, True, False]
    assert not dq[0].records._closed  # not closed: sequence numbers are set at drain time


@pytest.mark.timeout(10)
def test_one_record_per_batch(client: Any) -> None:
    opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch, max_records=1)
    for i in range(3):
        append("t", 0, None, b"x", None, None, i)
    assert [s.items for _, _, s in opened] == [[0], [1], [2]]


@pytest.mark.timeout(10)
def test_backoff_func_sets_the_wait_before_each_retry(client: Any) -> None:
    from kafka.structs import TopicPartition

    config = Config()
    config.producer.retry.backoff_func = lambda retries, maximum: 10.0 * retries
    _backoff_by_func(client, config)
    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    append("t", 0, None, b"x", None, None, 0)
    accumulator = client._accumulator
    (batch,) = accumulator._batches[TopicPartition("t", 0)]
    take(client, batch)
    fixed = accumulator.config["retry_backoff_ms"] / 1000
    for retries in (1, 2):
        accumulator.reenqueue(batch, now=1000.0)
        assert batch.attempts == retries
        # kafka-python sends it again once last_attempt + retry_backoff has passed
        assert batch.last_attempt + fixed == pytest.approx(1000.0 + 10.0 * retries)
        accumulator._batches[TopicPartition("t", 0)].remove(batch)


@pytest.mark.timeout(10)
def test_full_metadata_asks_for_every_topic_unless_one_is_unknown(client: Any) -> None:
    from kafka.protocol.metadata import MetadataRequest

    metadata = client._metadata
    _full_metadata(metadata)
    assert metadata.metadata_request().topics == MetadataRequest.ALL_TOPICS
    metadata.add_topic("new-topic")  # not in the cluster's metadata yet: asked by name
    assert [t.name for t in metadata.metadata_request().topics] == ["new-topic"]
    metadata._partitions["new-topic"] = {}
    assert metadata.metadata_request().topics == MetadataRequest.ALL_TOPICS


@pytest.mark.timeout(10)
def test_the_produce_request_carries_producer_timeout_and_the_connection_read_timeout(
        ) -> None:
    import kafka

    config = Config()
    config.producer.timeout = 7.0
    config.net.read_timeout = 2.0
    settings = client_settings(["127.0.0.1:1"], config)
    settings["api_version"] = (2, 8)
    producer = kafka.KafkaProducer(**settings)
    try:
        _align_with_sarama(producer, config)
        assert producer._sender.config["request_timeout_ms"] == 7000  # the broker's wait
        assert producer._sender._client._manager.config["request_timeout_ms"] == 2000
    finally:
        close_client(producer, timeout=0, stop_within=5)


@pytest.mark.timeout(10)
def test_keep_alive_socket_options() -> None:
    import socket

    def options(keep_alive: float) -> dict[int, int]:
        config = Config()
        config.net.keep_alive = keep_alive
        return {opt: v for _level, opt, v in client_settings(["h:1"], config)["socket_options"]}

    assert options(0.0)[socket.TCP_KEEPIDLE] == 15  # Go's default period
    assert options(7.0)[socket.TCP_KEEPIDLE] == options(7.0)[socket.TCP_KEEPINTVL] == 7
    assert options(-1.0)[socket.SO_KEEPALIVE] == 0
    assert options(0.0)[socket.TCP_NODELAY] == 1


@pytest.mark.timeout(10)
def test_client_id_reaches_every_request_header() -> None:
    import kafka

    config = Config()
    config.client_id = "billing-producer"
    settings = client_settings(["127.0.0.1:1"], config)
    settings["api_version"] = (2, 8)
    producer = kafka.KafkaProducer(**settings)
    try:
        # the connections' config: kafka-python writes it into each request header
        assert producer._sender._client._manager.config["client_id"] == "billing-producer"
    finally:
        close_client(producer, timeout=0, stop_within=5)


@pytest.mark.timeout(10)
def test_max_open_requests_bounds_each_connection() -> None:
    import kafka

    config = Config()
    config.net.max_open_requests = 2
    settings = client_settings(["127.0.0.1:1"], config)
    settings["api_version"] = (2, 8)
    producer = kafka.KafkaProducer(**settings)
    try:
        manager = producer._sender._client._manager
        assert manager.config["max_in_flight_requests_per_connection"] == 2
    finally:
        close_client(producer, timeout=0, stop_within=5)


@pytest.mark.timeout(30)
def test_transaction_retry_settings_bound_the_wait_and_reach_the_manager() -> None:
    """``producer.transaction.retry.max`` / ``.backoff``: InitProducerId waits at most
    ``(retry.max + 1) * (producer.timeout + retry.backoff)`` (nothing answers here), and
    kafka-python's manager retries ``retry.backoff`` apart."""
    import time

    import kafka

    from producer import KafkaError
    from producer._kafka import _init_transactions

    config = txn_client_config()
    config.producer.timeout = 0.2
    config.producer.transaction.retry.max = 1
    config.producer.transaction.retry.backoff = 0.3
    settings = client_settings(["127.0.0.1:1"], config)
    settings["api_version"] = (2, 8)
    producer = kafka.KafkaProducer(**settings)
    _align_with_sarama(producer, config)
    start = time.monotonic()
    with pytest.raises(KafkaError, match=r"2 attempts"):
        _init_transactions(producer, config, ["127.0.0.1:1"])
    assert time.monotonic() - start >= 2 * (0.2 + 0.3) - 0.05
    assert producer._transaction_manager.retry_backoff_ms == 300
    close_client(producer, timeout=0, stop_within=5)


def _lost_coordinator_commit(fixed: bool, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An EndTxn whose coordinator cannot be reached, handed to the sender's transactional
    request step (its thread never started, so the test drives it): the request types
    pending afterwards."""
    import kafka
    from kafka.producer.sender import Sender
    from kafka.protocol.metadata import MetadataResponse

    from producer._kafka import keep_requests_to_lost_coordinators

    config = txn_client_config()
    settings = client_settings(["127.0.0.1:1"], config)
    settings.update(api_version=(2, 8), request_timeout_ms=200)
    monkeypatch.setattr(Sender, "start", lambda self: None)
    producer = kafka.KafkaProducer(**settings)
    try:
        if fixed:
            keep_requests_to_lost_coordinators(producer)
        sender = producer._sender
        manager = producer._transaction_manager
        manager._transition_to(TransactionState.INITIALIZING)
        manager.set_producer_id_and_epoch(ProducerIdAndEpoch(9, 0))
        manager._transition_to(TransactionState.READY)
        manager.begin_transaction()
        manager._transaction_started = True
        manager._transaction_coordinator = "coordinator-9"  # a node that does not answer
        producer._metadata._coordinator_brokers["coordinator-9"] = (
            MetadataResponse.MetadataResponseBroker("coordinator-9", "127.0.0.1", 1, None))
        manager.begin_commit()
        assert sender._maybe_send_pending_request()
        return sorted(type(h).__name__ for _, _, h in manager._pending_requests)
    finally:
        close_client(producer, timeout=0, stop_within=5)


@pytest.mark.timeout(20)
def test_kafka_python_alone_drops_a_request_to_a_lost_coordinator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The bug being worked around: if this starts failing, kafka-python fixed it."""
    assert _lost_coordinator_commit(False, monkeypatch) == ["FindCoordinatorHandler"]


@pytest.mark.timeout(20)
def test_a_request_to_a_lost_coordinator_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _lost_coordinator_commit(True, monkeypatch) == ["EndTxnHandler",
                                                           "FindCoordinatorHandler"]


def test_kafka_python_alone_sleeps_the_producer_backoff_before_a_transaction_retry() -> None:
    """The behaviour being adjusted: if this starts failing, kafka-python changed it."""
    import inspect

    from kafka.producer.sender import Sender

    source = inspect.getsource(Sender._maybe_send_pending_request)
    assert "if next_request_handler.is_retry:" in source
    assert "time.sleep(self.config['retry_backoff_ms'] / 1000)" in source


@pytest.mark.timeout(20)
def test_a_transaction_retry_waits_its_handlers_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka
    from kafka.producer.sender import Sender
    from kafka.producer.transaction_manager import AddPartitionsToTxnHandler

    from producer._kafka import pace_transaction_retries

    settings = client_settings(["127.0.0.1:1"], txn_client_config())
    settings["api_version"] = (2, 8)
    monkeypatch.setattr(Sender, "start", lambda self: None)
    producer = kafka.KafkaProducer(**settings)
    try:
        pace_transaction_retries(producer)
        manager = producer._transaction_manager
        assert producer._sender.config["retry_backoff_ms"] == 100
        handler = AddPartitionsToTxnHandler(manager, set())
        handler.maybe_override_retry_backoff_ms()  # CONCURRENT_TRANSACTIONS on the first add
        manager._enqueue_request(handler)
        assert manager.next_request_handler(False) is handler
        assert producer._sender.config["retry_backoff_ms"] == 20
        assert producer._accumulator.config["retry_backoff_ms"] == 100  # batches: unchanged
    finally:
        close_client(producer, timeout=0, stop_within=5)


@pytest.mark.timeout(10)
def test_metrics_hooks_count_each_request_and_its_outcome(client: Any) -> None:
    """record_metrics wraps the sender's request creation and both outcomes: a request
    of two batches counts its records, batches and bytes, is in flight until its
    response (latency from the sender's send time) or its failure."""
    import time

    import kafka.errors as kerrors
    from kafka.structs import TopicPartition

    from producer._kafka import record_metrics
    from producer._metrics import Registry

    registry = Registry()
    record_metrics(client, registry, "sarama")
    sender = client._sender
    _opened, open_batch = open_sinks()
    append, _seal = appender(client, open_batch)
    for i in range(3):
        append("a.b", 0, None, b"v%d" % i, None, None, i)
    append("c", 1, None, b"w", None, None, 9)
    batches = [client._accumulator._batches[TopicPartition("a.b", 0)][0],
               client._accumulator._batches[TopicPartition("c", 1)][0]]
    for batch in batches:
        batch.records.close()
    requests = sender._create_produce_requests({7: batches})
    assert set(requests) == {7}
    m = registry.snapshot()
    assert m["record-send-rate"]["count"] == 4
    assert m["record-send-rate-for-topic-a_b"]["count"] == 3
    assert m["records-per-request"]["max"] == 4
    assert m["records-per-request-for-topic-c"]["max"] == 1
    assert m["batch-size"]["count"] == 2
    stored = sum(len(b.records.buffer()) + 8 for b in batches)
    assert m["request-size-for-broker-7"]["max"] > stored  # batches plus framing
    assert m["compression-ratio"]["max"] == 100  # uncompressed
    assert m["requests-in-flight-for-broker-7"]["count"] == 1

    sender._handle_produce_response(7, time.monotonic() - 0.05, batches, None)  # acks=0
    m = registry.snapshot()
    assert m["requests-in-flight"]["count"] == 0
    assert m["request-latency-in-ms-for-broker-7"]["min"] >= 50
    assert m["response-rate"]["count"] == 1

    append("c", 2, None, b"x", None, None, 10)
    (third,) = client._accumulator._batches[TopicPartition("c", 2)]
    third.records.close()
    sender._create_produce_requests({7: [third]})
    sender._failed_produce([third], 7, kerrors.KafkaConnectionError("gone"))
    m = registry.snapshot()
    assert m["request-rate"]["count"] == 2 and m["requests-in-flight"]["count"] == 0
    assert m["request-latency-in-ms"]["count"] == 1  # a failure has no latency (sarama)
