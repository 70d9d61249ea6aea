"""Fixtures of the reliability tests (issue 7): the three-node cluster healed around each
fault-injection test, and fresh replicated topics on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from reliability_helpers import heal

from producer.testing import KafkaCluster
from producer.testing.pytest_plugin import unique_topic_name


@pytest.fixture
def cluster3(kafka_cluster3: KafkaCluster) -> Iterator[KafkaCluster]:
    """``kafka_cluster3`` with every node up before the test, and again after it: stopped
    nodes resumed, killed ones restarted, the test's topics back to their full ISR."""
    heal(kafka_cluster3)
    topics: list[str] = []
    kafka_cluster3.test_topics = topics  # type: ignore[attr-defined]
    yield kafka_cluster3
    heal(kafka_cluster3, topics)


@pytest.fixture
def topic3(cluster3: KafkaCluster, request: pytest.FixtureRequest) -> Callable[..., str]:
    """Factory: a fresh topic on ``cluster3``, replication factor 3 and
    ``min.insync.replicas=2`` unless told otherwise."""

    def make(partitions: int = 3, replication_factor: int = 3, min_isr: int = 2) -> str:
        name = unique_topic_name(request.node.name)
        cluster3.create_topic(name, partitions, replication_factor,
                              {"min.insync.replicas": min_isr})
        cluster3.test_topics.append(name)  # type: ignore[attr-defined]
        return name

    return make
