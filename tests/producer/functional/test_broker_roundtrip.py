"""The first real test: a local broker, a 3-partition topic, 1,000 messages there and back."""

from __future__ import annotations

from collections import Counter

import pytest
from kafka_helpers import produce_and_consume

from producer.testing import KafkaCluster


@pytest.mark.timeout(300)  # the first broker test of a clean checkout also fetches the jars
def test_produce_and_consume_1000_messages(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=3)
    values = [f"value-{i}".encode() for i in range(1000)]

    got = produce_and_consume(kafka_cluster.bootstrap_servers, topic, 3, values)

    assert got == Counter(values)


@pytest.mark.timeout(120)
def test_topic_is_spread_over_three_partitions(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=3)
    parts = kafka_cluster.partitions(topic)
    assert [p["partition_index"] for p in parts] == [0, 1, 2]
    assert {kafka_cluster.leader_of(topic, p) for p in range(3)} == {
        b.node_id for b in kafka_cluster.brokers}


@pytest.mark.timeout(120)
def test_create_topic_twice_is_an_error(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=2)
    with pytest.raises(Exception, match="TopicAlreadyExists"):
        kafka_cluster.create_topic(topic, partitions=2)
