"""Where a test cluster comes from: ``local_kafka()`` and the choice of its source."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from ._cluster import ExternalCluster, KafkaCluster
from ._docker import DockerCluster, docker_available
from ._errors import BrokerStartError
from ._jars import (
    KAFKA_VERSION,
)
from ._local import LocalCluster
from ._security import check_protocol

__all__ = ["SOURCES", "local_kafka", "resolve_source"]

log = logging.getLogger("producer.testing")
SOURCES = ("auto", "local", "external", "docker", "jars")


def resolve_source(source: str | None, brokers: int, security: str = "PLAINTEXT") -> str:
    """Pick where the cluster comes from: ``external``, ``docker`` or ``jars``.

    A secured cluster (``security`` other than PLAINTEXT) is always local JVMs: its
    certificates and users are made when it starts.
    """
    source = source or os.environ.get("KAFKA_HARNESS_SOURCE") or "auto"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    if check_protocol(security) != "PLAINTEXT":
        if source in ("external", "docker"):
            raise ValueError(f"security={security!r} needs source 'jars' (or 'auto'/'local'): "
                             f"the harness makes the certificates and users of the brokers "
                             f"it starts, not of a {source} cluster")
        return "jars"
    if source == "external" or (source == "auto" and os.environ.get("KAFKA_BOOTSTRAP_SERVERS")):
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            raise BrokerStartError("source='external' but KAFKA_BOOTSTRAP_SERVERS is not set")
        return "external"
    if source == "docker":
        return "docker"
    if source in ("auto", "local") and brokers == 1 and docker_available():
        return "docker"
    return "jars"


@contextlib.contextmanager
def local_kafka(brokers: int = 1, *, source: str | None = None, start_timeout: float = 120.0,
                kafka_version: str = KAFKA_VERSION, jvm_opts: list[str] | None = None,
                shutdown_timeout: float = 0.0, security: str = "PLAINTEXT",
                **broker_overrides: object) -> Iterator[KafkaCluster]:
    """Yield a running Kafka cluster; tear it down on exit.

    Where it comes from (``source``, default ``$KAFKA_HARNESS_SOURCE`` or ``"auto"``):
    ``auto`` uses ``KAFKA_BOOTSTRAP_SERVERS`` if set (nothing is started), else a Docker
    daemon if one answers (single broker only), else local JVMs from the Maven jars;
    ``local`` is the same without ``KAFKA_BOOTSTRAP_SERVERS``; ``jars``, ``docker`` and
    ``external`` force one. ``broker_overrides`` are broker configs:
    ``local_kafka(log_retention_ms=1000)`` or ``local_kafka(**{"log.retention.ms": 1000})``.
    ``security`` (``"SSL"``, ``"SASL_PLAINTEXT"`` or ``"SASL_SSL"``; default PLAINTEXT)
    secures the client listener (always local JVMs; see ``producer.testing._security``):
    the cluster's ``ca_file``, ``users`` and ``producer_config()`` tell clients how to
    connect.
    On exit local JVMs are killed at once, or after a clean SIGTERM shutdown of at most
    ``shutdown_timeout`` seconds; their temporary directory is deleted.
    """
    kind = resolve_source(source, brokers, security)
    cluster: KafkaCluster
    if kind == "external":
        if broker_overrides:
            log.warning("KAFKA_BOOTSTRAP_SERVERS is set: broker overrides %s are ignored",
                        sorted(broker_overrides))
        cluster = ExternalCluster.connect(os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                                          timeout=min(start_timeout, 30.0))
    elif kind == "docker":
        cluster = DockerCluster(overrides=broker_overrides, kafka_version=kafka_version,
                                start_timeout=start_timeout).start()
    else:
        cluster = LocalCluster(brokers, overrides=broker_overrides, kafka_version=kafka_version,
                               start_timeout=start_timeout, jvm_opts=jvm_opts,
                               security=security).start()
    try:
        yield cluster
    finally:
        if isinstance(cluster, LocalCluster):
            cluster.close(graceful_timeout=shutdown_timeout)
        else:
            cluster.close()
