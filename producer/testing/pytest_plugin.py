"""pytest plugin (entry point ``kafka_harness``): real Kafka brokers as fixtures.

Fixtures:

* ``kafka_cluster`` (session): one broker from :func:`producer.testing.local_kafka`, so
  ``KAFKA_BOOTSTRAP_SERVERS`` is honoured.
* ``kafka_cluster3`` (session): three local broker+controller nodes whose nodes can be
  stopped, resumed, killed and restarted. Always local JVMs (it exists for fault injection).
* ``kafka_cluster_sasl_ssl`` (session): one local broker whose client listener is
  SASL_SSL (``local_kafka(security="SASL_SSL")``: ``ca_file``, ``users``,
  ``producer_config()``).
* ``new_topic`` (function): a factory ``new_topic(partitions=1, replication_factor=1,
  configs=None, cluster=None) -> str`` creating a fresh, uniquely named topic (on
  ``kafka_cluster`` unless another cluster is given).

Tests using them get the ``broker`` marker. A broker that cannot start fails the test with the
reason (never a skip). This module is imported in every pytest run of anyone who installs the
package: it imports nothing heavy and starts nothing until a fixture is requested.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from producer.testing import KafkaCluster

_BROKER_FIXTURES = frozenset({"kafka_cluster", "kafka_cluster3", "kafka_cluster_sasl_ssl",
                              "new_topic"})


class NewTopic(Protocol):
    """The ``new_topic`` fixture: call it to create a topic; returns the topic name."""

    def __call__(self, partitions: int = 1, replication_factor: int = 1,
                 configs: Mapping[str, object] | None = None, *,
                 cluster: KafkaCluster | None = None) -> str: ...


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``broker`` marker."""
    config.addinivalue_line(
        "markers", "broker: needs a real Kafka broker (started by producer.testing)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a broker fixture with ``broker``."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if _BROKER_FIXTURES.intersection(names):
            item.add_marker(pytest.mark.broker)


def _start(brokers: int, source: str | None,
           security: str) -> contextlib.AbstractContextManager[KafkaCluster]:
    from producer.testing import local_kafka

    return local_kafka(brokers, source=source, security=security)


def _cluster_fixture(brokers: int, source: str | None,
                     security: str = "PLAINTEXT") -> Iterator[KafkaCluster]:
    from producer.testing import KafkaHarnessError

    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(_start(brokers, source, security))
        except KafkaHarnessError as exc:
            pytest.fail(f"could not start a {brokers}-node Kafka cluster: {exc}", pytrace=False)
        yield cluster


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[KafkaCluster]:
    """A running single-broker Kafka cluster shared by the whole session."""
    yield from _cluster_fixture(1, None)


@pytest.fixture(scope="session")
def kafka_cluster3() -> Iterator[KafkaCluster]:
    """A three-node local cluster (nodes 1-3) for fault injection; started on first use."""
    yield from _cluster_fixture(3, "jars")


@pytest.fixture(scope="session")
def kafka_cluster_sasl_ssl() -> Iterator[KafkaCluster]:
    """A single-broker local cluster serving SASL_SSL (users ``admin`` and ``alice``)."""
    yield from _cluster_fixture(1, "jars", "SASL_SSL")


def unique_topic_name(hint: str = "topic") -> str:
    """A fresh valid topic name derived from ``hint`` (e.g. the test name)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", hint).strip("-.") or "topic"
    return f"{base[:180]}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_topic(request: pytest.FixtureRequest) -> Iterator[NewTopic]:
    """Factory creating fresh topics: ``name = new_topic(partitions=3)``."""
    created: list[tuple[KafkaCluster, str]] = []

    def factory(partitions: int = 1, replication_factor: int = 1,
                configs: Mapping[str, object] | None = None, *,
                cluster: KafkaCluster | None = None) -> str:
        if cluster is None:
            cluster = request.getfixturevalue("kafka_cluster")
        assert cluster is not None
        name = unique_topic_name(request.node.name)
        cluster.create_topic(name, partitions, replication_factor, configs)
        created.append((cluster, name))
        return name

    yield factory
    # Topics on a temporary local cluster vanish with it; clean up only on shared clusters.
    for cluster, name in created:
        if cluster.source == "external":
            with contextlib.suppress(Exception):
                cluster.delete_topic(name)
