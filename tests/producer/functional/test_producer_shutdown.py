"""Shutdown against a real broker (spec §3): ``close()`` is a flush, the channels close,
``async_close()`` returns at once, racing senders are each accounted exactly once,
and nothing is left running."""

from __future__ import annotations

import threading
import time

import pytest
from producer_helpers import (
    Drain,
    config,
    consume,
    goroutine_ids,
    network_threads,
    producer_goroutines,
    wait_gone,
)

from gochan import ClosedChannelError
from producer import (
    AsyncProducer,
    ConfigurationError,
    ProducerErrors,
    ProducerMessage,
    ShuttingDownError,
    SyncProducer,
)
from producer.testing import KafkaCluster


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def assert_closed(p: AsyncProducer) -> None:
    assert p.closed
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        p.input().send(ProducerMessage("any", value=b"after close"), timeout=1)
    assert p.errors().recv_ok(timeout=1) == (None, False)
    assert p.successes().recv_ok(timeout=1) == (None, False)


@pytest.mark.timeout(90)
@pytest.mark.parametrize(("successes", "total"), [(False, 5000), (True, 700)])
def test_close_returns_after_every_message_is_resolved(kafka_cluster: KafkaCluster, new_topic,
                                                       successes: bool, total: int) -> None:
    """With successes on and unread, stay below the stall bound (1537): close() drains."""
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    threads_before = {t.ident for t in threading.enumerate()}
    goroutines_before = goroutine_ids()
    p = AsyncProducer(bootstrap, config(successes=successes, max_message_bytes=10_000))
    bad = 0
    for i in range(total):
        oversized = i % 100 == 99
        bad += oversized
        value = b"x" * 20_000 if oversized else b"v-%d" % i
        p.input().send(ProducerMessage(topic, key=b"k%d" % (i % 31), value=value),
                       timeout=10)
    with pytest.raises(ProducerErrors) as info:
        p.close()  # successes, if on, are drained and discarded by close()
    assert len(info.value) == bad == total // 100
    assert all(isinstance(e.err, ConfigurationError) for e in info.value)
    # Acknowledged before close() returned: the broker already has every good message.
    assert sum(end_offsets(bootstrap, topic, 3).values()) == total - bad
    assert_closed(p)
    assert wait_gone(lambda: producer_goroutines(goroutines_before)) == []
    assert wait_gone(lambda: network_threads(threads_before)) == []


@pytest.mark.timeout(90)
def test_async_close_returns_at_once_and_the_user_drains(kafka_cluster: KafkaCluster,
                                                         new_topic) -> None:
    topic = new_topic(partitions=3)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True, cbs=64))
    sent = []
    for i in range(150):  # fewer than the stall bound (3 * 64 + 1), nobody reads yet
        msg = ProducerMessage(topic, key=b"k%d" % i, value=b"%d" % i, metadata=i)
        p.input().send(msg, timeout=5)
        sent.append(msg)
    p.async_close()  # returns although nothing can finish (a wait here would hang the test)
    time.sleep(0.5)
    assert not p.closed  # it cannot finish: successes() is not read
    drain = Drain(p).join()
    assert p.closed
    assert drain.errors == []
    assert sorted(m.metadata for m in drain.successes) == list(range(150))
    assert {id(m) for m in drain.successes} == {id(m) for m in sent}
    assert_closed(p)


@pytest.mark.timeout(120)
def test_messages_racing_shutdown_are_each_accounted_once(kafka_cluster: KafkaCluster,
                                                          new_topic) -> None:
    """A thread keeps sending while async_close() runs: every message is a success, a
    ShuttingDownError on errors(), or the ClosedChannelError raised by its own send."""
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    p = AsyncProducer(bootstrap, config(successes=True))
    drain = Drain(p)
    attempted: list[int] = []
    refused: list[int] = []
    started = threading.Event()

    def sender() -> None:
        i = 0
        while True:
            msg = ProducerMessage(topic, key=b"k%d" % (i % 13), value=b"%d" % i, metadata=i)
            attempted.append(i)
            try:
                p.input().send(msg, timeout=30)
            except ClosedChannelError:
                refused.append(i)
                return
            if i == 3000:
                started.set()
            i += 1

    t = threading.Thread(target=sender, name="racing-sender")
    t.start()
    assert started.wait(30)
    p.async_close()
    t.join(60)
    assert not t.is_alive()
    drain.join()

    ok = [m.metadata for m in drain.successes]
    shutting = [e.msg.metadata for e in drain.errors if isinstance(e.err, ShuttingDownError)]
    assert [e for e in drain.errors if not isinstance(e.err, ShuttingDownError)] == []
    assert len(refused) == 1
    assert shutting, "no message was sent during shutdown"
    assert sorted(ok + shutting + refused) == attempted  # each exactly once
    # ShuttingDown messages never reach Kafka; every success does, once.
    records = consume(bootstrap, topic, 3, len(ok))
    assert sorted(int(r.value) for r in records) == sorted(ok)
    assert_closed(p)


@pytest.mark.timeout(60)
def test_second_close_is_harmless(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True))
    p.input().send(ProducerMessage(topic, value=b"one"))
    p.close()
    start = time.monotonic()
    p.close()
    p.async_close()
    p.close()
    assert time.monotonic() - start < 0.5
    assert_closed(p)


@pytest.mark.timeout(60)
def test_async_close_twice_then_close(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config())
    p.input().send(ProducerMessage(topic, value=b"one"))
    p.async_close()
    p.async_close()
    p.close()
    assert_closed(p)
    assert len(consume(kafka_cluster.bootstrap_servers, topic, 1, 1)) == 1


@pytest.mark.timeout(60)
def test_with_statement_closes(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    threads_before = {t.ident for t in threading.enumerate()}
    goroutines_before = goroutine_ids()
    with AsyncProducer(kafka_cluster.bootstrap_servers, config()) as p:
        for i in range(100):
            p.input().send(ProducerMessage(topic, value=b"%d" % i))
    assert_closed(p)
    with SyncProducer(kafka_cluster.bootstrap_servers) as s:
        s.send_message(ProducerMessage(topic, value=b"sync"))
    assert s._producer.closed
    assert wait_gone(lambda: producer_goroutines(goroutines_before)) == []
    assert wait_gone(lambda: network_threads(threads_before)) == []
    assert len(consume(kafka_cluster.bootstrap_servers, topic, 1, 101)) == 101


@pytest.mark.timeout(60)
def test_with_statement_closes_when_the_body_raises(kafka_cluster: KafkaCluster,
                                                    new_topic) -> None:
    topic = new_topic(partitions=1)
    with pytest.raises(KeyError), AsyncProducer(kafka_cluster.bootstrap_servers,
                                                config()) as p:
        p.input().send(ProducerMessage(topic, value=b"before the error"))
        raise KeyError("boom")
    assert_closed(p)
    assert [r.value for r in consume(kafka_cluster.bootstrap_servers, topic, 1, 1)] == [
        b"before the error"]


@pytest.mark.timeout(60)
def test_idle_producer_closes_cleanly(kafka_cluster: KafkaCluster) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    goroutines_before = goroutine_ids()
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True))
    assert producer_goroutines(goroutines_before)
    assert network_threads(threads_before)
    p.close()
    assert_closed(p)
    assert wait_gone(lambda: producer_goroutines(goroutines_before)) == []
    assert wait_gone(lambda: network_threads(threads_before)) == []
