"""Delivery against a real broker: every message comes back exactly once, in
per-partition order, at the (partition, offset) where the topic has it; each bad
message fails alone as its own ``ProducerError``; what retries do with one broker."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from producer_helpers import Drain, config, consume, warm_up

from gochan import select
from producer import (
    AsyncProducer,
    BrokerError,
    ConfigurationError,
    InvalidPartitionError,
    InvalidTopicError,
    ProducerError,
    ProducerMessage,
)
from producer.testing import KafkaCluster, UnsupportedOperationError


@pytest.mark.timeout(180)
def test_each_message_exactly_once_in_partition_order(kafka_cluster: KafkaCluster,
                                                      new_topic) -> None:
    total, keys = 21_000, 101
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    # A fresh topic can answer the first requests with a retriable error, and a retry
    # reorders a partition (see test_partition_order_survives_retries): warm it up.
    warm_up(bootstrap, topic, 3)
    p = AsyncProducer(bootstrap, config(successes=True))
    send_order: list[int] = []
    successes: list[ProducerMessage] = []
    errors: list[ProducerError] = []
    # sarama's recommended loop: one select that sends and receives both results.
    i = 0
    while i < total:
        msg = ProducerMessage(topic, key=b"key-%d" % (i % keys), value=b"id-%d" % i,
                              headers=[("id", b"%d" % i)], metadata=i)
        index, value = select((p.input().send, msg), p.successes().recv, p.errors().recv,
                              timeout=30)
        if index == 0:
            send_order.append(i)
            i += 1
        elif index == 1:
            successes.append(value)
        else:
            errors.append(value)
    p.async_close()
    drain = Drain(p).join()
    successes += drain.successes
    errors += drain.errors

    assert errors == []
    ids = [m.metadata for m in successes]
    assert sorted(ids) == list(range(total))  # each exactly once
    assert all(m.value == b"id-%d" % m.metadata for m in successes)

    by_partition: dict[int, list[ProducerMessage]] = defaultdict(list)
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for m in successes:
        by_partition[m.partition].append(m)
        by_key[m.key].append(m.metadata)
    assert set(by_partition) == {0, 1, 2}
    for part, msgs in by_partition.items():
        offsets = [m.offset for m in msgs]
        assert all(a < b for a, b in itertools.pairwise(offsets)), part
        assert [m.metadata for m in msgs] == sorted(m.metadata for m in msgs), part
    for key, key_ids in by_key.items():
        assert key_ids == sorted(key_ids), key
        assert len({m.partition for m in successes if m.key == key}) == 1

    records = [r for r in consume(bootstrap, topic, 3, total + 3) if r.value != b"warm-up"]
    assert len(records) == total
    at = {(r.partition, r.offset): r for r in records}
    assert len(at) == total
    for m in successes:
        r = at[(m.partition, m.offset)]
        assert (r.key, r.value) == (m.key, m.value)
        assert r.headers == [("id", b"%d" % m.metadata)]


@pytest.mark.timeout(120)
def test_partition_order_survives_retries(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    bootstrap = kafka_cluster.bootstrap_servers
    warm_up(bootstrap, topic, 1)
    p = AsyncProducer(bootstrap, config(successes=True, timeout=1.0,
                                        retry=_retry(10, 0.1)))
    drain = Drain(p)
    freezer = None
    try:
        for i in range(8000):
            if i == 3000:
                freezer = threading.Thread(
                    target=lambda: (time.sleep(0.3), _stop_broker_briefly(kafka_cluster, 2.0)))
                freezer.start()
            p.input().send(ProducerMessage(topic, value=b"%d" % i, metadata=i), timeout=30)
            if i % 50 == 0:
                time.sleep(0.005)  # a steady stream: several batches in flight at the freeze
    finally:
        if freezer is not None:
            freezer.join()
        p.async_close()
        drain.join()
    assert drain.errors == []
    assert sorted(m.metadata for m in drain.successes) == list(range(8000))
    by_offset = sorted(drain.successes, key=lambda m: m.offset)
    assert [m.metadata for m in by_offset] == list(range(8000))  # send order = offset order


def _errors_by_msg(errors: list[ProducerError]) -> dict[int, ProducerError]:
    by: dict[int, ProducerError] = {}
    for e in errors:
        assert id(e.msg) not in by, "a message failed twice"
        by[id(e.msg)] = e
    return by


@pytest.mark.timeout(120)
def test_bad_messages_fail_alone(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    cfg = config(successes=True, max_message_bytes=10_000, partitioner="manual")
    p = AsyncProducer(bootstrap, cfg)
    bad: dict[str, tuple[Any, type[BaseException]]] = {
        "oversized": (ProducerMessage(topic, value=b"x" * 20_000, partition=0),
                      ConfigurationError),
        "key type": (ProducerMessage(topic, key=123, value=b"v", partition=0), TypeError),
        "value type": (ProducerMessage(topic, value=["v"], partition=0), TypeError),
        "missing topic name": (ProducerMessage("", value=b"v", partition=0), InvalidTopicError),
        "invalid topic name": (ProducerMessage("no spaces", value=b"v", partition=0),
                               InvalidTopicError),
        "partition 3 of 3": (ProducerMessage(topic, value=b"v", partition=3),
                             InvalidPartitionError),
        "partition -1": (ProducerMessage(topic, value=b"v", partition=-1),
                         InvalidPartitionError),
    }
    good: list[ProducerMessage] = []
    drain = Drain(p)
    for n, (message, _) in enumerate(bad.values()):
        for j in range(3):
            ok = ProducerMessage(topic, value=b"good-%d-%d" % (n, j), partition=j)
            good.append(ok)
            p.input().send(ok, timeout=10)
        p.input().send(message, timeout=10)
    for j in range(3):
        ok = ProducerMessage(topic, value=b"good-last-%d" % j, partition=j)
        good.append(ok)
        p.input().send(ok, timeout=10)
    p.input().send(None, timeout=10)
    p.input().send({"topic": topic, "value": b"not a message"}, timeout=10)
    p.async_close()  # (close() would compete with the drain for the errors)
    drain.join()

    assert {id(m) for m in drain.successes} == {id(m) for m in good}
    assert len(drain.successes) == len(good)
    by = _errors_by_msg([e for e in drain.errors if e.msg is not None])
    assert len(by) == len(bad)
    for name, (message, err_type) in bad.items():
        err = by[id(message)]
        assert err.msg is message, name
        assert isinstance(err.err, err_type), (name, repr(err.err))
        assert err.__cause__ is err.err
        assert str(err) == f"kafka: Failed to produce message to topic {message.topic}: " \
                           f"{err.err}"
    assert "Producer.MaxMessageBytes" in str(by[id(bad["oversized"][0])].err)
    non_messages = [e for e in drain.errors if e.msg is None]
    assert len(non_messages) == 2
    assert all(isinstance(e.err, TypeError) for e in non_messages)

    records = consume(bootstrap, topic, 3, len(good))
    assert sorted(r.value for r in records) == sorted(m.value for m in good)
    for r in records:
        assert r.value.endswith(b"-%d" % r.partition)


@pytest.mark.timeout(60)
def test_unknown_topic_fails_without_auto_creation(kafka_cluster: KafkaCluster,
                                                   new_topic) -> None:
    topic = new_topic(partitions=1)
    missing = f"{topic}-does-not-exist"
    cfg = config(successes=True, timeout=1.0)
    cfg.metadata.allow_auto_topic_creation = False
    p = AsyncProducer(kafka_cluster.bootstrap_servers, cfg)
    good = ProducerMessage(topic, value=b"good")
    unknown = ProducerMessage(missing, value=b"v")
    start = time.monotonic()
    try:
        p.input().send(unknown)
        p.input().send(good)
        index, result = select(p.errors().recv, p.successes().recv, timeout=30)
        assert index == 0, f"the message to an unknown topic succeeded: {result}"
        assert result.msg is unknown
        assert isinstance(result.err, BrokerError)
        assert missing in str(result.err)
        assert time.monotonic() - start < 10  # about producer.timeout
        assert p.successes().recv(timeout=30) is good
    finally:
        p.async_close()
        Drain(p).join()
    try:
        created = kafka_cluster.partitions(missing, timeout=2)
    except Exception:  # not found, however the harness says it
        created = []
    assert created == [], "the unknown topic was auto-created"


@pytest.mark.timeout(90)
def test_broker_rejection_is_reported_per_message(kafka_cluster: KafkaCluster,
                                                  new_topic) -> None:
    """A message within our max_message_bytes but over the topic's max.message.bytes is
    refused by the broker (not retriable) and comes back alone on errors()."""
    topic = new_topic(partitions=1, configs={"max.message.bytes": "2000"})
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True))
    try:
        before = ProducerMessage(topic, value=b"small-1")
        p.input().send(before)
        assert p.successes().recv(timeout=30) is before
        big = ProducerMessage(topic, value=b"x" * 5000)
        p.input().send(big)
        err = p.errors().recv(timeout=30)
        assert err is not None and err.msg is big
        assert isinstance(err.err, BrokerError)
        assert "MessageSizeTooLarge" in str(err.err)
        assert err.err.retriable is False
        after = ProducerMessage(topic, value=b"small-2")
        p.input().send(after)
        assert p.successes().recv(timeout=30) is after
    finally:
        p.async_close()
        Drain(p).join()
    assert [r.value for r in consume(kafka_cluster.bootstrap_servers, topic, 1, 2)] == [
        b"small-1", b"small-2"]


def _stop_broker_briefly(cluster: KafkaCluster, seconds: float,
                         then: Callable[[], object] = lambda: None) -> None:
    node = cluster.brokers[0].node_id
    try:
        cluster.stop(node)
    except UnsupportedOperationError as exc:
        pytest.skip(f"this cluster cannot pause its broker: {exc}")
    try:
        then()
        time.sleep(seconds)
    finally:
        cluster.resume(node)


@pytest.mark.timeout(90)
@pytest.mark.parametrize(("retry_max", "delivered"), [(0, False), (10, True)])
def test_retries_when_the_leader_does_not_answer(kafka_cluster: KafkaCluster, new_topic,
                                                 retry_max: int, delivered: bool) -> None:
    """The single broker is frozen (SIGSTOP) for 2.5 s while a message is sent, with
    producer.timeout = 1 s: with retry.max = 0 the request timeout fails the message
    (a retriable BrokerError); with 10 retries it is delivered once the broker is back.

    Leader changes (NotLeaderForPartition) and exhausting exactly retry.max attempts
    need several brokers: left to the reliability issue (kafka_cluster3)."""
    topic = new_topic(partitions=1)
    bootstrap = kafka_cluster.bootstrap_servers
    p = AsyncProducer(bootstrap, config(successes=True, timeout=1.0,
                                        retry=_retry(retry_max, 0.2)))
    try:
        warm = ProducerMessage(topic, value=b"warm")
        p.input().send(warm)
        assert p.successes().recv(timeout=30) is warm
        msg = ProducerMessage(topic, value=b"during-outage")
        # frozen before the send: sent first, the message could be acknowledged
        # in the moment before the freeze (a race that let retry.max=0 deliver it)
        _stop_broker_briefly(kafka_cluster, 2.5, then=lambda: p.input().send(msg))
        index, result = select(p.successes().recv, p.errors().recv, timeout=30)
    finally:
        p.async_close()
        Drain(p).join()
    if delivered:
        assert index == 0 and result is msg and msg.offset >= 1
        values = [r.value for r in consume(bootstrap, topic, 1, 2)]
        # at least once: the frozen broker may still append the first attempt
        assert values[0] == b"warm" and set(values[1:]) == {b"during-outage"}
        assert msg.offset in {r.offset for r in consume(bootstrap, topic, 1, 2)}
    else:
        assert index == 1 and result.msg is msg
        assert isinstance(result.err, BrokerError)
        assert result.err.retriable is True
        assert "Timed" in str(result.err) or "timed" in str(result.err)


def _retry(maximum: int, backoff: float) -> Any:
    from producer import RetryConfig

    return RetryConfig(max=maximum, backoff=backoff)
