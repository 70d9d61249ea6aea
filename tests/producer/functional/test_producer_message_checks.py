"""Messages a new user gets wrong, against a real broker (issue 14, item 6): a
timestamp in milliseconds, and a message over the topic's size limit."""

from __future__ import annotations

import time
from typing import Any

import pytest

from producer import BrokerError, ProducerMessage, SyncProducer, mocks
from producer.testing import KafkaCluster


@pytest.mark.timeout(60)
def test_a_timestamp_in_milliseconds_is_refused_saying_seconds(kafka_cluster: KafkaCluster,
                                                               new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    now = time.time()
    with SyncProducer(kafka_cluster.bootstrap_servers) as p:
        with pytest.raises(ValueError) as info:  # before: the broker's InvalidTimestamp
            p.send_message(ProducerMessage(topic, value=b"ms", timestamp=now * 1000))
        assert "timestamps are seconds, not milliseconds" in str(info.value)
        assert str(info.value).startswith(
            f"message timestamp {now * 1000!r} is implausible as seconds since the epoch "
            "(the year ")
        sent = ProducerMessage(topic, value=b"s", timestamp=now)
        assert p.send_message(sent) == (0, 0)  # seconds are fine
        with pytest.raises(ValueError, match="before 1970"):
            p.send_message(ProducerMessage(topic, value=b"neg", timestamp=-1.0))
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap_servers,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        records = [r for batch in consumer.poll(timeout_ms=10_000).values() for r in batch]
    finally:
        consumer.close()
    assert [(r.value, r.timestamp) for r in records] == [(b"s", int(now * 1000))]


def test_the_mocks_refuse_a_timestamp_in_milliseconds_too() -> None:
    m = mocks.SyncProducer(reporter=lambda problem: None).expect_send_message_and_succeed()
    with pytest.raises(ValueError, match="seconds, not milliseconds"):
        m.send_message(ProducerMessage("t", value=b"v", timestamp=time.time() * 1000))


@pytest.mark.timeout(60)
def test_message_too_large_for_the_topic_names_both_limits(kafka_cluster: KafkaCluster,
                                                           new_topic: Any) -> None:
    topic = new_topic(partitions=1, configs={"max.message.bytes": "2000"})
    with SyncProducer(kafka_cluster.bootstrap_servers) as p, pytest.raises(BrokerError) as info:
        p.send_message(ProducerMessage(topic, value=b"x" * 5000))
    text = str(info.value)
    assert "MessageSizeTooLargeError" in text and "None" not in text
    assert text.endswith(
        "the message is too large: it must fit both producer.max_message_bytes (sarama: "
        "Producer.MaxMessageBytes) and the topic's max.message.bytes (the broker's "
        "message.max.bytes unless set on the topic); raise the topic's limit or send smaller "
        "messages")
