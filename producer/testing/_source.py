"""Where a test cluster comes from: ``local_kafka()`` and the choice of its source."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from ._cluster import ExternalCluster, KafkaCluster
from ._docker import DockerCluster, docker_available
from ._errors import BrokerStartError
from ._jars import KAFKA_VERSION, cache_root, cached_kafka_jars, find_java, find_mvn
from ._local import LocalCluster
from ._security import check_protocol

__all__ = ["SOURCES", "local_kafka", "resolve_source"]

log = logging.getLogger("producer.testing")
SOURCES = ("auto", "local", "external", "docker", "jars")


def jars_usable(kafka_version: str = KAFKA_VERSION) -> tuple[bool, str]:
    """Whether local JVMs can start here (Java 17+, and Maven or cached jars), and why."""
    try:
        java = find_java()
    except BrokerStartError as exc:
        return False, str(exc)
    jars = cached_kafka_jars(kafka_version)
    if jars is not None:
        return True, f"Java 17+ ({java}) and the Kafka {kafka_version} jars cached in {jars}"
    mvn = find_mvn()
    if mvn is not None:
        return True, f"Java 17+ ({java}) and Maven ({mvn}) to fetch the Kafka jars once"
    return False, (f"Java 17+ is here ({java}) but neither Maven (mvn on PATH) nor cached "
                   f"Kafka {kafka_version} jars (KAFKA_JARS_DIR or {cache_root()})")


def resolve_source(source: str | None, brokers: int, security: str = "PLAINTEXT", *,
                   kafka_version: str = KAFKA_VERSION) -> str:
    """Pick where the cluster comes from: ``external``, ``docker`` or ``jars``.

    ``auto``/``local`` prefer the jar JVMs (the path this project's tests exercise) and
    take Docker only when Java 17+ or the jars are missing; the choice and its reason are
    logged on ``producer.testing``. A secured cluster (``security`` other than PLAINTEXT)
    is always local JVMs: its certificates and users are made when it starts.
    """
    source = source or os.environ.get("KAFKA_HARNESS_SOURCE") or "auto"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    if check_protocol(security) != "PLAINTEXT":
        if source in ("external", "docker"):
            raise ValueError(f"security={security!r} needs source 'jars' (or 'auto'/'local'): "
                             f"the harness makes the certificates and users of the brokers "
                             f"it starts, not of a {source} cluster")
        return _chose("jars", f"security={security} (only local JVMs can be secured)")
    if source == "external" or (source == "auto" and os.environ.get("KAFKA_BOOTSTRAP_SERVERS")):
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            raise BrokerStartError("source='external' but KAFKA_BOOTSTRAP_SERVERS is not set")
        return _chose("external", "KAFKA_BOOTSTRAP_SERVERS is set")
    if source in ("docker", "jars"):
        return _chose(source, f"asked for (source={source!r} or KAFKA_HARNESS_SOURCE)")
    usable, why = jars_usable(kafka_version)
    if usable:
        return _chose("jars", why)
    if brokers > 1:  # Docker gives one broker only: let the JVMs fail, saying what is missing
        return _chose("jars", f"{brokers} brokers (Docker gives one), although: {why}")
    if docker_available():
        return _chose("docker", f"a Docker daemon answers, and local JVMs cannot start: {why}")
    raise BrokerStartError(
        f"no way to start a Kafka broker here. Local JVMs (the tested path): {why}; install "
        f"Java 17+ and Maven (e.g. `apt-get install openjdk-17-jre-headless maven`). Docker: "
        f"no daemon answered; start one (single broker, apache/kafka image). Or set "
        f"KAFKA_BOOTSTRAP_SERVERS to a running cluster")


def _chose(kind: str, why: str) -> str:
    log.info("Kafka broker source: %s, because %s", _KINDS[kind], why)
    return kind


_KINDS = {"jars": "local JVMs from the Maven jars", "docker": "Docker (apache/kafka image)",
          "external": "an existing cluster (KAFKA_BOOTSTRAP_SERVERS)"}


@contextlib.contextmanager
def local_kafka(brokers: int = 1, *, source: str | None = None, start_timeout: float = 120.0,
                kafka_version: str = KAFKA_VERSION, jvm_opts: list[str] | None = None,
                shutdown_timeout: float = 0.0, security: str = "PLAINTEXT",
                **broker_overrides: object) -> Iterator[KafkaCluster]:
    """Yield a running Kafka cluster; tear it down on exit.

    Where it comes from (``source``, default ``$KAFKA_HARNESS_SOURCE`` or ``"auto"``):
    ``auto`` uses ``KAFKA_BOOTSTRAP_SERVERS`` if set (nothing is started), else local JVMs
    from the Maven jars when Java 17+ and Maven (or cached jars) are here, else a Docker
    daemon if one answers (single broker only), else it raises naming both ways; the choice
    and why are logged on the ``producer.testing`` logger.
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
    kind = resolve_source(source, brokers, security, kafka_version=kafka_version)
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
