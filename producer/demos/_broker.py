"""What the producer demos share: a broker from ``local_kafka()`` and a fresh topic on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from gochan.demos import stall_warnings
from producer.testing import local_kafka

__all__ = ["broker_origin", "on_fresh_topic"]


def broker_origin(source: str) -> str:
    """Where ``local_kafka()`` got its broker, from the cluster's ``source``."""
    return {
        "external": "KAFKA_BOOTSTRAP_SERVERS (nothing started)",
        "local": "a local JVM that local_kafka() started for this demo",
        "docker": "a Docker container that local_kafka() started for this demo",
    }.get(source, source)


def on_fresh_topic(prefix: str, warn_after: float, lesson: Callable[[str, str], int]) -> int:
    """Run ``lesson(addrs, topic)`` on a fresh one-partition topic of the local broker
    (or ``KAFKA_BOOTSTRAP_SERVERS``), with stall warnings after ``warn_after`` seconds."""
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("starting a local Kafka broker (producer.testing.local_kafka)...", flush=True)
    with local_kafka() as cluster:
        print(f"broker {cluster.bootstrap_servers}, from {broker_origin(cluster.source)}")
        topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
        cluster.create_topic(topic, partitions=1)
        try:
            with stall_warnings(warn_after):
                return lesson(cluster.bootstrap_servers, topic)
        finally:
            cluster.delete_topic(topic)
