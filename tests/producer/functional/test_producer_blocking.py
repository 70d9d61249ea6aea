"""Back-pressure against a real broker (spec §1.4, §2): unread ``successes()`` or
``errors()`` stall ``input()`` after exactly the number of messages the module
docstring of ``producer._async_producer`` gives, with memory flat, and reading
releases the stall without losing a message."""

from __future__ import annotations

import time

import pytest
from producer_helpers import Drain, accept_until_stalled, config, consume, rss_kib, warm_up

from gochan import default, select
from producer import AsyncProducer, ConfigurationError, ProducerMessage
from producer.testing import KafkaCluster

MIB = 1024


def stall_count(cbs: int) -> int:
    """``input()`` accepts this many when nobody reads ``successes()``: input's buffer,
    the dispatcher's hand, the window, and successes()'s buffer."""
    return cbs + 1 + 4 * max(cbs, 1) + cbs


@pytest.mark.timeout(90)
@pytest.mark.parametrize("cbs", [16, 256])
def test_unread_successes_stall_input_exactly(kafka_cluster: KafkaCluster, new_topic,
                                              cbs: int) -> None:
    topic = new_topic(partitions=1)
    warm_up(kafka_cluster.bootstrap_servers, topic, 1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(cbs=cbs, successes=True))
    sent: list[ProducerMessage] = []

    def send(i: int) -> None:
        msg = ProducerMessage(topic, value=b"m-%d" % i, metadata=i)
        p.input().send(msg, timeout=1.0)
        sent.append(msg)

    try:
        n = accept_until_stalled(send)
        assert n == stall_count(cbs) == 6 * cbs + 1

        # Stalled, and memory stays flat while it is.
        before = rss_kib()
        time.sleep(2.0)
        assert rss_kib() - before < 4 * MIB
        with pytest.raises(TimeoutError):
            p.input().send(ProducerMessage(topic, value=b"x"), timeout=0.5)

        # Reading successes() releases it.
        drain = Drain(p)
        for i in range(n, n + 200):
            send(i)
    finally:
        p.async_close()
    drain.join()
    assert drain.errors == []
    assert drain.successes == sent  # the very objects, in send order (one partition)
    offsets = [m.offset for m in drain.successes]
    assert offsets == sorted(set(offsets))

    records = consume(kafka_cluster.bootstrap_servers, topic, 1, len(sent) + 1)[1:]
    assert [r.value for r in records] == [m.value for m in sent]
    assert [r.offset for r in records] == offsets


@pytest.mark.timeout(90)
def test_unread_errors_stall_input(kafka_cluster: KafkaCluster, new_topic) -> None:
    """errors() is buffered with cbs: one unread error does not stall, cbs + 1 do (the
    dispatcher blocks holding the last); then only input()'s buffer takes more."""
    cbs = 16
    topic = new_topic(partitions=1)
    warm_up(kafka_cluster.bootstrap_servers, topic, 1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers,
                      config(cbs=cbs, max_message_bytes=1000))
    good: list[bytes] = []
    bad = 0

    def send_good(i: int) -> None:
        value = b"good-%d" % len(good)
        p.input().send(ProducerMessage(topic, value=value), timeout=1.0)
        good.append(value)

    def send_bad() -> None:
        nonlocal bad
        p.input().send(ProducerMessage(topic, value=b"x" * 2000), timeout=5.0)
        bad += 1

    try:
        send_bad()
        for i in range(1000):  # one unread error: good messages keep flowing
            send_good(i)
        for _ in range(cbs):  # errors() full, the dispatcher blocks on the last one
            send_bad()
        assert accept_until_stalled(send_good) == cbs
        before = rss_kib()
        time.sleep(2.0)
        assert rss_kib() - before < 4 * MIB

        drain = Drain(p)
        for i in range(100):
            send_good(i)
    finally:
        p.async_close()
    drain.join()
    assert len(drain.errors) == bad == cbs + 1
    assert all(isinstance(e.err, ConfigurationError) for e in drain.errors)
    records = consume(kafka_cluster.bootstrap_servers, topic, 1, len(good) + 1)[1:]
    assert [r.value for r in records] == good


@pytest.mark.timeout(90)
def test_every_message_failing_stalls_after_2cbs_plus_1(kafka_cluster: KafkaCluster,
                                                        new_topic) -> None:
    cbs = 16
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers,
                      config(cbs=cbs, max_message_bytes=1000))
    try:
        n = accept_until_stalled(
            lambda i: p.input().send(ProducerMessage(topic, value=b"x" * 2000), timeout=1.0))
        assert n == 2 * cbs + 1
    finally:
        p.async_close()
    drain = Drain(p).join()
    assert len(drain.errors) == n and drain.successes == []


@pytest.mark.timeout(90)
def test_seed_wrong_pattern_stalls(kafka_cluster: KafkaCluster, new_topic) -> None:
    """return_successes=True, a loop that sends and only polls errors() (select with
    default): nobody reads successes(), so the producer stalls; bounded by a timeout."""
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True))
    sent = 0
    try:
        with pytest.raises(TimeoutError):
            for i in range(20_000):
                p.input().send(ProducerMessage(topic, value=b"%d" % i), timeout=3.0)
                sent += 1
                select(p.errors().recv, default)  # only errors are polled
        assert sent == stall_count(256)
    finally:
        p.async_close()
        drain = Drain(p).join()
    assert len(drain.successes) == sent and drain.errors == []


@pytest.mark.timeout(120)
def test_seed_right_pattern_never_blocks(kafka_cluster: KafkaCluster, new_topic) -> None:
    """return_successes=False (the default), the same loop: 20,000 messages, none blocked."""
    topic = new_topic(partitions=3)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config())
    errors = 0
    longest = 0.0
    for i in range(20_000):
        start = time.monotonic()
        p.input().send(ProducerMessage(topic, key=b"k%d" % (i % 97), value=b"%d" % i),
                       timeout=10.0)  # a TimeoutError here fails the test
        longest = max(longest, time.monotonic() - start)
        index, _ = select(p.errors().recv, default)
        errors += index == 0
    p.close()  # raises ProducerErrors if anything failed
    assert errors == 0
    assert longest < 10.0
    records = consume(kafka_cluster.bootstrap_servers, topic, 3, 20_000)
    assert len(records) == 20_000
    assert {r.value for r in records} == {b"%d" % i for i in range(20_000)}
