"""A real Apache Kafka 4.x broker on demand, for tests, benchmarks and demos.

    from producer.testing import local_kafka

    with local_kafka() as cluster:               # or local_kafka(brokers=3)
        print(cluster.bootstrap_servers)         # 127.0.0.1:PORT
        cluster.create_topic("t", partitions=3)

Importing this package is cheap (standard library only): kafka-python, Maven and Java are
only touched when a cluster is started. See ``local_kafka`` for where the broker comes from.
"""

from ._cluster import BrokerNode, ExternalCluster, KafkaCluster, random_cluster_id
from ._docker import DockerCluster, docker_available
from ._errors import (
    BrokerStartError,
    JarFetchError,
    KafkaHarnessError,
    UnsupportedOperationError,
)
from ._jars import KAFKA_VERSION, cache_root, ensure_kafka_jars
from ._local import DEFAULT_JVM_OPTS, LocalCluster
from ._source import local_kafka, resolve_source

__all__ = [
    "DEFAULT_JVM_OPTS",
    "KAFKA_VERSION",
    "BrokerNode",
    "BrokerStartError",
    "DockerCluster",
    "ExternalCluster",
    "JarFetchError",
    "KafkaCluster",
    "KafkaHarnessError",
    "LocalCluster",
    "UnsupportedOperationError",
    "cache_root",
    "docker_available",
    "ensure_kafka_jars",
    "local_kafka",
    "random_cluster_id",
    "resolve_source",
]
