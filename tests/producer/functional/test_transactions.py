"""sarama's transactional producer on the real broker (issue 18), read back by a
``read_committed`` consumer: committed transactions exactly once, aborted ones never, a
commit racing in-flight messages, a failed message making the transaction abortable,
two producers with one transactional id (the older is fenced and says so), offsets
committed with the transaction, and the status flags along the way."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from gochan import go
from producer import (
    AsyncProducer,
    BrokerError,
    ClosedProducerError,
    Config,
    ConfigurationError,
    ConsumerGroupMetadata,
    NonTransactedProducerError,
    PartitionOffsetMetadata,
    ProducerFencedError,
    ProducerMessage,
    ProducerTxnStatusFlag,
    RequiredAcks,
    SyncProducer,
    TransactionNotReadyError,
    TransitionNotAllowedError,
)
from producer.testing import KafkaCluster

F = ProducerTxnStatusFlag
pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]


def txn_config(txn_id: str | None = None) -> Config:
    c = Config()
    c.producer.idempotent = True
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.net.max_open_requests = 1
    c.producer.return_successes = True
    c.producer.transaction.id = txn_id or f"txn-{uuid.uuid4().hex[:12]}"
    c.producer.timeout = 5.0
    c.producer.transaction.retry.max = 10
    return c


def read(cluster: KafkaCluster, topic: str, isolation: str = "read_committed",
         idle: float = 3.0) -> list[bytes]:
    """Every value in ``topic`` as a consumer with ``isolation`` sees it: reads until
    the end offsets (the last stable offset for read_committed) are reached."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             isolation_level=isolation, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=int(idle * 1000))
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        from kafka import TopicPartition

        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values = [rec.value for rec in consumer]
    finally:
        consumer.close()
    return values


def send_all(p: AsyncProducer, topic: str, values: list[bytes]) -> list[ProducerMessage]:
    """Send ``values`` and read their results (successes and errors) in a goroutine, as
    sarama's users must while a commit flushes."""
    msgs = [ProducerMessage(topic=topic, value=v) for v in values]
    for m in msgs:
        p.input().send(m)
    return msgs


class Results:
    """Reads successes() and errors() until the producer closes."""

    def __init__(self, p: AsyncProducer) -> None:
        self.ok: list[ProducerMessage] = []
        self.failed: list[object] = []
        self._g1 = go(self._drain, p.successes(), self.ok)
        self._g2 = go(self._drain, p.errors(), self.failed)

    @staticmethod
    def _drain(chan: object, into: list[object]) -> None:
        for item in chan:  # type: ignore[attr-defined]
            into.append(item)

    def join(self) -> None:
        self._g1.join()
        self._g2.join()


def test_committed_once_aborted_never(kafka_cluster: KafkaCluster,
                                      new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=3)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    results = Results(p)
    assert p.is_transactional()
    assert p.txn_status() == F.READY
    p.begin_txn()
    assert p.txn_status() == F.IN_TRANSACTION
    send_all(p, topic, [b"c1-%d" % i for i in range(500)])
    p.commit_txn()
    assert p.txn_status() == F.READY
    p.begin_txn()
    send_all(p, topic, [b"a-%d" % i for i in range(300)])
    p.abort_txn()
    assert p.txn_status() == F.READY
    p.begin_txn()
    send_all(p, topic, [b"c2-%d" % i for i in range(200)])
    p.commit_txn()
    p.close()
    results.join()
    assert len(results.ok) == 1000 and not results.failed
    committed = Counter(read(kafka_cluster, topic))
    expected = {b"c1-%d" % i for i in range(500)} | {b"c2-%d" % i for i in range(200)}
    assert set(committed) == expected
    assert set(committed.values()) == {1}, "a committed message is visible more than once"
    uncommitted = Counter(read(kafka_cluster, topic, "read_uncommitted"))
    assert uncommitted[b"a-0"] == 1, "the aborted messages were written (then aborted)"


def test_commit_racing_in_flight_messages(kafka_cluster: KafkaCluster,
                                          new_topic: Callable[..., str]) -> None:
    """A sender goroutine keeps sending while the main thread commits: every message
    sent before the commit is in it; those sent after it began fail with
    TransactionNotReadyError and are nowhere."""
    topic = new_topic(partitions=3)
    config = txn_config()
    config.producer.flush.frequency = 0.05  # batches linger, so the commit must flush them
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config)
    results = Results(p)
    p.begin_txn()
    sent: list[bytes] = []
    stop = threading.Event()
    started = threading.Event()

    def sender() -> None:
        i = 0
        while not stop.is_set():
            v = b"r-%d" % i
            p.input().send(ProducerMessage(topic=topic, value=v))
            sent.append(v)
            i += 1
            if i == 2000:
                started.set()

    g = go(sender)
    assert started.wait(60)
    p.commit_txn()
    stop.set()
    g.join()
    p.close()
    results.join()
    ok = {m.value for m in results.ok}
    refused = [e for e in results.failed]
    assert all(isinstance(e.err, TransactionNotReadyError) for e in refused), refused[:3]
    assert len(ok) + len(refused) == len(sent)
    assert len(ok) >= 2000
    committed = Counter(read(kafka_cluster, topic))
    print(f"\nTXN-FAULT commit racing in-flight: committed {len(ok)}, refused {len(refused)} "
          f"(TransactionNotReadyError), visible {sum(committed.values())}, duplicates "
          f"{sum(c - 1 for c in committed.values())}", flush=True)
    assert set(committed) == ok and set(committed.values()) == {1}


def test_failed_message_makes_the_transaction_abortable(
        kafka_cluster: KafkaCluster, new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    results = Results(p)
    p.begin_txn()
    send_all(p, topic, [b"before-%d" % i for i in range(10)])
    p.input().send(ProducerMessage(topic=topic, value=b"x" * (2 << 20)))  # too large
    send_all(p, topic, [b"after-%d" % i for i in range(10)])
    with pytest.raises(Exception) as info:
        p.commit_txn()
    assert "too large" in str(info.value) or "MaxMessageBytes" in str(info.value)
    assert p.txn_status() == F.IN_ERROR | F.ABORTABLE_ERROR
    with pytest.raises(TransitionNotAllowedError):
        p.begin_txn()
    p.abort_txn()
    assert p.txn_status() == F.READY
    p.begin_txn()
    send_all(p, topic, [b"next-%d" % i for i in range(10)])
    p.commit_txn()
    p.close()
    results.join()
    assert Counter(read(kafka_cluster, topic)) == Counter(b"next-%d" % i for i in range(10))


def test_outside_a_transaction(kafka_cluster: KafkaCluster,
                               new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    results = Results(p)
    p.input().send(ProducerMessage(topic=topic, value=b"early"))
    with pytest.raises(TransactionNotReadyError):
        p.add_offsets_to_txn({topic: [PartitionOffsetMetadata(0, 1)]}, "g")
    with pytest.raises(TransitionNotAllowedError):
        p.commit_txn()
    assert p.txn_status() == F.READY
    p.begin_txn()
    with pytest.raises(TransitionNotAllowedError):
        p.begin_txn()
    p.commit_txn()  # an empty transaction
    p.close()
    results.join()
    assert [type(e.err) for e in results.failed] == [TransactionNotReadyError]
    assert read(kafka_cluster, topic, idle=1.0) == []
    plain = AsyncProducer(kafka_cluster.bootstrap_servers, Config())
    try:
        assert not plain.is_transactional()
        assert plain.txn_status() == F.UNINITIALIZED
        for call in (plain.begin_txn, plain.commit_txn, plain.abort_txn):
            with pytest.raises(NonTransactedProducerError):
                call()
    finally:
        plain.close()


def test_two_producers_one_id_the_older_is_fenced(kafka_cluster: KafkaCluster,
                                                  new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=1)
    txn_id = f"fence-{uuid.uuid4().hex[:8]}"
    old = SyncProducer(kafka_cluster.bootstrap_servers, txn_config(txn_id))
    old.begin_txn()
    old.send_message(ProducerMessage(topic=topic, value=b"old-1"))
    new = SyncProducer(kafka_cluster.bootstrap_servers, txn_config(txn_id))  # fences `old`
    new.begin_txn()
    new.send_message(ProducerMessage(topic=topic, value=b"new-1"))
    with pytest.raises(Exception) as info:
        old.send_message(ProducerMessage(topic=topic, value=b"old-2"))
        old.commit_txn()
    err = info.value
    cause = getattr(err, "err", err)
    assert isinstance(cause, ProducerFencedError) or "fenced" in str(err).lower(), repr(err)
    assert old.txn_status() & F.FATAL_ERROR, old.txn_status()
    new.commit_txn()
    old.close()
    new.close()
    # old-1's transaction was aborted when `new` initialised; old-2 never committed.
    assert read(kafka_cluster, topic) == [b"new-1"]


def test_offsets_committed_with_the_transaction(kafka_cluster: KafkaCluster,
                                                new_topic: Callable[..., str]) -> None:
    from kafka import KafkaConsumer, TopicPartition

    source = new_topic(partitions=1)
    group = f"g-{uuid.uuid4().hex[:8]}"
    p = SyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    p.begin_txn()
    p.add_offsets_to_txn({source: [PartitionOffsetMetadata(0, 7, "meta")]}, group)
    p.abort_txn()  # dropped
    p.begin_txn()

    class Consumed:
        topic, partition, offset = source, 0, 41

    p.add_message_to_txn(Consumed(), group)
    p.commit_txn()
    p.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    try:
        assert consumer.committed(TopicPartition(source, 0)) == 42
    finally:
        consumer.close()


PIPELINE = Path(__file__).parent / "scripts" / "txn_pipeline.py"


def _run_until(proc: subprocess.Popen[str], pattern: str, timeout: float) -> list[str]:
    """Lines of ``proc``'s stdout up to the first matching ``pattern``."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if pattern in line:
                found.set()
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    if not found.wait(timeout):
        proc.kill()
        raise AssertionError(f"no {pattern!r} within {timeout}s: {lines[-20:]}")
    return lines


def test_consume_transform_produce_survives_a_crash(kafka_cluster: KafkaCluster,
                                                    new_topic: Callable[..., str],
                                                    subprocess_env: dict[str, str]) -> None:
    """The loop (scripts/txn_pipeline.py) is SIGKILLed in the middle of a transaction,
    then restarted with the same transactional id: the output (read_committed) has every
    input exactly once, and the group's committed offsets are the inputs' end."""
    from kafka import KafkaConsumer, TopicPartition

    source, sink = new_topic(partitions=2), new_topic(partitions=2)
    group, txn_id = f"ctp-{uuid.uuid4().hex[:8]}", f"ctp-{uuid.uuid4().hex[:8]}"
    inputs = [b"in-%d" % i for i in range(1000)]
    with SyncProducer(kafka_cluster.bootstrap_servers) as p:
        p.send_messages(ProducerMessage(topic=source, value=v, key=b"%d" % (i % 7))
                        for i, v in enumerate(inputs))
    cmd = [sys.executable, str(PIPELINE), kafka_cluster.bootstrap_servers, source, sink, group,
           txn_id]
    crashed = subprocess.Popen([*cmd, "--hang-after", "3"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=subprocess_env)
    try:
        _run_until(crashed, "MIDTXN", 90)
    finally:
        crashed.send_signal(signal.SIGKILL)
        crashed.wait(10)
    half = Counter(read(kafka_cluster, sink, idle=1.0))
    assert 0 < sum(half.values()) < len(inputs), "the crash was not mid-stream"
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, timeout=120)
    assert rerun.returncode == 0 and "DONE" in rerun.stdout, rerun.stdout[-2000:]
    out = Counter(read(kafka_cluster, sink))
    uncommitted = len(read(kafka_cluster, sink, "read_uncommitted", idle=1.0))
    print(f"\nTXN-FAULT consume-transform-produce crashed mid-transaction: inputs "
          f"{len(inputs)}, visible before the restart {sum(half.values())}, written "
          f"(read_uncommitted) {uncommitted}, visible after {sum(out.values())}, duplicates "
          f"{sum(c - 1 for c in out.values())}", flush=True)
    assert out == Counter(v.upper() for v in inputs), (
        f"{sum(out.values())} outputs for {len(inputs)} inputs; duplicated: "
        f"{[v for v, c in out.items() if c > 1][:5]}")
    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    try:
        tps = [TopicPartition(source, p) for p in range(2)]
        ends = consumer.end_offsets(tps)
        assert {tp: consumer.committed(tp) for tp in tps} == ends
    finally:
        consumer.close()


@pytest.mark.parametrize("seed", [7, 18])
def test_random_transactions_match_a_model(kafka_cluster: KafkaCluster,
                                           new_topic: Callable[..., str], seed: int) -> None:
    """A seeded random run against a model: 25 transactions of 0-400 keyed messages,
    each committed, aborted, or poisoned by one message too large (commit raises, the
    status is IN_ERROR|ABORTABLE_ERROR, then abort). A read_committed consumer sees exactly
    the committed transactions' messages, each once, in send order per partition."""
    from kafka import KafkaConsumer, TopicPartition

    rng = random.Random(seed)
    topic = new_topic(partitions=3)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    results = Results(p)
    committed: list[bytes] = []
    outcomes: Counter[str] = Counter()
    for t in range(25):
        p.begin_txn()
        msgs = [ProducerMessage(topic=topic, key=b"k%d" % rng.randrange(20),
                                value=b"t%d-m%d" % (t, i)) for i in range(rng.randrange(400))]
        poisoned = bool(msgs) and rng.random() < 0.2
        for i, m in enumerate(msgs):
            if poisoned and i == len(msgs) // 2:
                p.input().send(ProducerMessage(topic=topic, value=b"x" * (2 << 20)))
            p.input().send(m)
        if poisoned:
            with pytest.raises(ConfigurationError, match="max_message_bytes"):
                p.commit_txn()
            assert p.txn_status() == F.IN_ERROR | F.ABORTABLE_ERROR
            p.abort_txn()
            outcomes["poisoned"] += 1
        elif rng.random() < 0.5:
            p.commit_txn()
            committed.extend(m.value for m in msgs)
            outcomes["committed"] += 1
        else:
            p.abort_txn()
            outcomes["aborted"] += 1
        assert p.txn_status() == F.READY
    p.close()
    results.join()
    by_partition: dict[int, list[bytes]] = {}
    for m in results.ok:
        by_partition.setdefault(m.partition, []).append(m)
    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap_servers,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    try:
        tps = [TopicPartition(topic, i) for i in range(3)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen: dict[int, list[bytes]] = {}
        for rec in consumer:
            seen.setdefault(rec.partition, []).append(rec.value)
    finally:
        consumer.close()
    wanted = set(committed)
    print(f"\nTXN-FAULT random run seed {seed}: {dict(outcomes)}, committed {len(committed)}, "
          f"visible {sum(map(len, seen.values()))}", flush=True)
    for partition in range(3):
        in_order = sorted((m for m in by_partition.get(partition, []) if m.value in wanted),
                          key=lambda m: m.offset)
        assert seen.get(partition, []) == [m.value for m in in_order], partition
    assert Counter(v for vs in seen.values() for v in vs) == Counter(committed)


def test_close_with_an_open_transaction_leaves_it_to_be_aborted(
        kafka_cluster: KafkaCluster, new_topic: Callable[..., str]) -> None:
    """close() does not commit (sarama's neither): the messages are acknowledged, the
    transaction stays open until the next producer with the same id aborts it."""
    topic = new_topic(partitions=1)
    txn_id = f"open-{uuid.uuid4().hex[:8]}"
    p = SyncProducer(kafka_cluster.bootstrap_servers, txn_config(txn_id))
    p.begin_txn()
    p.send_messages([ProducerMessage(topic=topic, value=b"open-%d" % i) for i in range(5)])
    p.close()
    with pytest.raises(ClosedProducerError):
        p.begin_txn()
    again = SyncProducer(kafka_cluster.bootstrap_servers, txn_config(txn_id))
    again.begin_txn()
    again.send_message(ProducerMessage(topic=topic, value=b"next"))
    again.commit_txn()
    again.close()
    assert read(kafka_cluster, topic) == [b"next"]
    assert len(read(kafka_cluster, topic, "read_uncommitted", idle=1.0)) == 6


def test_offsets_with_group_metadata_fence_a_stale_member(kafka_cluster: KafkaCluster,
                                                          new_topic: Callable[..., str]) -> None:
    """KIP-447 (sarama's ...WithGroupMetadata): offsets committed for the live member
    count; for a member identity the group does not have, the broker refuses them and
    the transaction becomes abortable."""
    from kafka import KafkaConsumer, TopicPartition

    source = new_topic(partitions=1)
    group = f"g-{uuid.uuid4().hex[:8]}"
    with SyncProducer(kafka_cluster.bootstrap_servers) as plain:
        plain.send_messages([ProducerMessage(topic=source, value=b"in-%d" % i)
                             for i in range(3)])
    consumer = KafkaConsumer(source, bootstrap_servers=kafka_cluster.bootstrap_servers,
                             group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", isolation_level="read_committed")
    p = SyncProducer(kafka_cluster.bootstrap_servers, txn_config())
    try:
        records = []
        for _ in range(40):
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            if records:
                break
        assert records, "the consumer joined no group or read nothing"
        live = consumer.group_metadata()
        assert live.generation_id > 0 and live.member_id
        p.begin_txn()
        p.add_message_to_txn_with_group_metadata(records[-1], live)
        p.commit_txn()
        assert consumer.committed(TopicPartition(source, 0)) == records[-1].offset + 1
        stale = ConsumerGroupMetadata(group, live.generation_id + 1000, "ghost-member")
        p.begin_txn()
        p.add_offsets_to_txn_with_group_metadata(
            {source: [PartitionOffsetMetadata(0, 0)]}, stale)
        with pytest.raises(BrokerError) as info:
            p.commit_txn()
        assert p.txn_status() == F.IN_ERROR | F.ABORTABLE_ERROR, str(info.value)
        p.abort_txn()
        assert consumer.committed(TopicPartition(source, 0)) == records[-1].offset + 1
    finally:
        p.close()
        consumer.close()


def test_transaction_ends_from_asyncio(kafka_cluster: KafkaCluster,
                                       new_topic: Callable[..., str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``commit_txn_async``/``abort_txn_async`` end transactions without blocking the
    event loop: the commit does not start until a task on the loop has run after it was
    asked for, so a commit that held the loop would wait forever (10 s here) and fail."""
    import asyncio

    topic = new_topic(partitions=1)
    asked = threading.Event()  # commit_txn has been called (in whatever thread)
    loop_ran = threading.Event()  # a task ran on the loop after that

    async def main() -> None:
        async def tick() -> None:
            while True:
                if asked.is_set():
                    loop_ran.set()
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        try:
            async with SyncProducer.open_async(kafka_cluster.bootstrap_servers,
                                               txn_config()) as p:
                commit = p.commit_txn

                def commit_once_the_loop_runs() -> None:
                    asked.set()
                    if not loop_ran.wait(10):
                        raise AssertionError("the event loop did not run during the commit")
                    commit()

                monkeypatch.setattr(p, "commit_txn", commit_once_the_loop_runs)
                p.begin_txn()
                await p.send_messages_async([ProducerMessage(topic, value=b"c%d" % i)
                                             for i in range(5)])
                await p.commit_txn_async()
                p.begin_txn()
                await p.send_message_async(ProducerMessage(topic, value=b"aborted"))
                await p.abort_txn_async()
                assert p.txn_status() == F.READY
        finally:
            ticker.cancel()

    asyncio.run(main())
    assert loop_ran.is_set()
    assert read(kafka_cluster, topic) == [b"c%d" % i for i in range(5)]
