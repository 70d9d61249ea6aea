"""What every test cluster shares (BrokerNode, KafkaCluster), and an existing cluster
(ExternalCluster).

The backends that start brokers: ``_local`` (JVMs from the Maven jars) and ``_docker``;
``_source`` picks one (``local_kafka``).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ._errors import BrokerStartError, UnsupportedOperationError
from ._security import ClusterSecurity

__all__ = ["BrokerNode", "ExternalCluster", "KafkaCluster", "random_cluster_id"]

log = logging.getLogger("producer.testing")
_T = TypeVar("_T")



def random_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's ``Uuid.randomUuid()`` it never starts with "-": StorageTool's argument parser
    would take ``-t -abc...`` for an option (1 id in 64 otherwise).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = fh.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _config_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _brokers_fenced(exc: Exception) -> bool:
    """Whether a CreateTopics refusal only says every broker is fenced for now.

    A broker that was frozen (SIGSTOP) longer than its session, or starved of CPU, is fenced
    by the controller when it runs again and unfenced by its next heartbeat; in between, a
    topic cannot get replicas.
    """
    return (type(exc).__name__ == "InvalidReplicationFactorError"
            and "currently fenced" in str(exc))


def _normalize_overrides(overrides: Mapping[str, object]) -> dict[str, str]:
    """``log_retention_ms=1000`` and ``**{"log.retention.ms": 1000}`` both mean log.retention.ms."""
    return {key.replace("_", "."): _config_value(v) for key, v in overrides.items()}


@dataclass
class BrokerNode:
    """One broker of a cluster: its node id, address and (for local clusters) process."""

    node_id: int
    host: str
    port: int
    controller_port: int | None = None
    workdir: Path | None = None
    state: str = "running"  # running | stopped (SIGSTOP) | killed | external
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` of the client listener (PLAINTEXT, or the cluster's ``security``)."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the broker's JVM (None if not running or not local)."""
        if self.process is None or self.process.poll() is not None:
            return None
        return self.process.pid

    @property
    def log_path(self) -> Path | None:
        """The broker's log file (local clusters only)."""
        return None if self.workdir is None else self.workdir / "broker.log"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the broker's log."""
        return _tail(self.log_path, lines)


class KafkaCluster:
    """A Kafka cluster for tests. Use :func:`local_kafka` to get one.

    Subclasses started by this process support :meth:`stop`, :meth:`resume`, :meth:`kill` and
    :meth:`restart`; the others raise :class:`UnsupportedOperationError`.
    """

    source = "external"

    def __init__(self, brokers: list[BrokerNode], kafka_version: str | None = None) -> None:
        self.brokers = brokers
        self.kafka_version = kafka_version
        #: TLS/SASL of the client listener (``local_kafka(security=...)``); None: PLAINTEXT.
        self.tls_sasl: ClusterSecurity | None = None
        #: kafka-python settings (``security_protocol``, ``ssl_*``, ``sasl_*``) the harness's
        #: own admin clients use on a cluster it did not start.
        self.client_configs: dict[str, Any] = {}

    @property
    def security(self) -> str:
        """Protocol of the client listener: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
        return "PLAINTEXT" if self.tls_sasl is None else self.tls_sasl.protocol

    @property
    def ca_file(self) -> Path | None:
        """PEM file of the CA that signed the brokers' certificates (TLS clusters only)."""
        return None if self.tls_sasl is None else self.tls_sasl.ca_file

    @property
    def users(self) -> dict[str, str]:
        """SASL users, name -> password: ``admin`` (super user) and ``alice``; else empty."""
        return {} if self.tls_sasl is None else dict(self.tls_sasl.users)

    def producer_config(self, user: str = "admin", mechanism: str = "PLAIN",
                        config: Any = None) -> Any:
        """A :class:`producer.Config` (``config``, or a new one) set up to connect as
        ``user`` with SASL ``mechanism`` (and TLS trusting :attr:`ca_file`) as the
        cluster's ``security`` requires; OAUTHBEARER gets an unsecured token provider."""
        from producer import Config

        from ._security import unsecured_token

        config = Config() if config is None else config
        sec = self.tls_sasl
        if sec is not None and sec.tls:
            config.net.tls.enable = True
            config.net.tls.config = sec.ssl_context()
        if sec is not None and sec.sasl:
            config.net.sasl.enable = True
            config.net.sasl.mechanism = mechanism
            if mechanism == "OAUTHBEARER":
                config.net.sasl.token_provider = lambda: unsecured_token(user)
            else:
                config.net.sasl.user = user
                config.net.sasl.password = sec.users[user]
        return config

    def __repr__(self) -> str:
        sec = "" if self.tls_sasl is None else f" {self.security}"
        return f"<{type(self).__name__} {self.source}{sec} {self.bootstrap_servers}>"

    @property
    def bootstrap_servers(self) -> str:
        """Comma-separated ``host:port`` list to give clients."""
        return ",".join(b.address for b in self.brokers)

    def node(self, node_id: int) -> BrokerNode:
        """The broker with this node id."""
        for b in self.brokers:
            if b.node_id == node_id:
                return b
        raise KeyError(f"no broker with node id {node_id} (have "
                       f"{[b.node_id for b in self.brokers]})")

    # -- fault injection (local clusters only) ---------------------------------------------

    def _unsupported(self, what: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(
            f"cannot {what}: the cluster at {self.bootstrap_servers} ({self.source}) was not "
            "started by this process as local JVMs (unset KAFKA_BOOTSTRAP_SERVERS, or use "
            "local_kafka(source='jars'), to get a cluster whose nodes can be controlled)")

    def stop(self, node_id: int) -> None:
        """Freeze a broker with SIGSTOP (it keeps its sockets but answers nothing)."""
        raise self._unsupported(f"stop node {node_id}")

    def resume(self, node_id: int) -> None:
        """Let a stopped broker run again (SIGCONT)."""
        raise self._unsupported(f"resume node {node_id}")

    def kill(self, node_id: int) -> None:
        """Kill a broker with SIGKILL (no shutdown at all)."""
        raise self._unsupported(f"kill node {node_id}")

    def restart(self, node_id: int, *, wait: bool = True, timeout: float = 120.0) -> None:
        """Start a killed broker again on the same ports and log dirs."""
        raise self._unsupported(f"restart node {node_id}")

    def close(self) -> None:
        """Release the cluster (for local clusters: kill the JVMs and delete their files)."""

    # -- client helpers ---------------------------------------------------------------------

    def _client_bootstrap(self) -> str:
        live = [b.address for b in self.brokers if b.state in ("running", "external")]
        return ",".join(live) or self.bootstrap_servers

    @contextlib.contextmanager
    def admin(self, **configs: Any) -> Iterator[Any]:
        """A ``kafka.KafkaAdminClient`` on this cluster (closed on exit)."""
        from kafka import KafkaAdminClient

        configs.setdefault("bootstrap_servers", self._client_bootstrap())
        configs.setdefault("client_id", "kafka-harness")
        configs.setdefault("request_timeout_ms", 15000)
        configs.setdefault("bootstrap_timeout_ms", 15000)
        security = self.tls_sasl.client_configs() if self.tls_sasl else self.client_configs
        for key, value in security.items():
            configs.setdefault(key, value)
        if security:  # kafka-python logs SASL requests at DEBUG: keep the password out
            from producer._redact import install, register

            install()
            register(str(configs.get("sasl_plain_password") or ""))
        client = KafkaAdminClient(**configs)
        try:
            yield client
        finally:
            client.close()

    def describe_cluster(self, timeout: float = 15.0) -> dict[str, Any]:
        """Cluster metadata from a DescribeCluster request (brokers, controller, cluster id)."""
        ms = int(min(timeout, 5.0) * 1000)
        if timeout <= 5.0:  # one attempt (used by the readiness polls)
            with self.admin(request_timeout_ms=ms, bootstrap_timeout_ms=ms) as admin:
                result: dict[str, Any] = admin.describe_cluster()
                return result
        return self._retry(lambda admin: dict(admin.describe_cluster()), timeout)

    def live_broker_ids(self, timeout: float = 15.0) -> set[int]:
        """Node ids of the registered, unfenced brokers, as the cluster reports them."""
        return {int(b["broker_id"]) for b in self.describe_cluster(timeout)["brokers"]
                if not b.get("is_fenced", False)}

    def wait_for_brokers(self, node_ids: set[int] | None = None, timeout: float = 120.0) -> None:
        """Block until the cluster reports all ``node_ids`` (default: all nodes) unfenced."""
        want = set(node_ids) if node_ids is not None else {b.node_id for b in self.brokers}
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            self._check_alive()
            try:
                have = self.live_broker_ids(timeout=min(5.0, max(1.0, timeout / 4)))
                if want <= have:
                    return
                last = f"brokers up: {sorted(have)}, waiting for {sorted(want - have)}"
            except Exception as exc:  # kafka-python raises many types while brokers start
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise BrokerStartError(f"cluster {self.bootstrap_servers} did not report "
                                       f"brokers {sorted(want)} within {timeout:.0f} s ({last})")
            time.sleep(0.2)

    def _check_alive(self) -> None:
        """Raise if a node that should be running has died (local clusters)."""

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 1,
                     configs: Mapping[str, object] | None = None,
                     timeout: float = 60.0) -> None:
        """Create a topic and wait until every partition's leader serves it."""
        spec = {name: {"num_partitions": partitions, "replication_factor": replication_factor,
                       "configs": {k: _config_value(v) for k, v in (configs or {}).items()}}}
        deadline = time.monotonic() + timeout
        created = False
        attempts = 0
        while True:
            try:
                with self.admin() as admin:
                    if not created:
                        attempts += 1
                        try:
                            admin.create_topics(spec, timeout_ms=int(timeout * 1000))
                        except Exception as exc:
                            # On a retry it may be our own earlier attempt that got through.
                            if type(exc).__name__ != "TopicAlreadyExistsError" or attempts == 1:
                                raise
                        created = True
                    left_ms = int(max(1.0, deadline - time.monotonic()) * 1000)
                    admin.wait_for_topics([name], timeout_ms=left_ms)
                    # Metadata can name a leader before that broker serves the partition;
                    # a ListOffsets answered by every leader means produce works at once.
                    from kafka import TopicPartition

                    admin.list_partition_offsets(
                        {TopicPartition(name, p): -1 for p in range(partitions)},
                        timeout_ms=left_ms)
                    return
            except Exception as exc:
                if time.monotonic() > deadline or (type(exc).__name__ in (
                        "InvalidReplicationFactorError", "InvalidPartitionsError",
                        "InvalidTopicError", "InvalidConfigurationError",
                        "TopicAlreadyExistsError") and not _brokers_fenced(exc)):
                    raise
                log.debug("create_topic %s: retrying after %r", name, exc)
                time.sleep(0.5)

    def delete_topic(self, name: str) -> None:
        """Delete a topic."""
        with self.admin() as admin:
            admin.delete_topics([name])

    def _retry(self, fn: Callable[[Any], _T], timeout: float) -> _T:
        """Run ``fn(admin)`` with short request timeouts, retrying until ``timeout``.

        A SIGSTOPped node still accepts connections, so a request that kafka-python routes to
        it only fails by timing out; retrying picks another node.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.admin(request_timeout_ms=5000, bootstrap_timeout_ms=5000) as admin:
                    return fn(admin)
            except Exception as exc:
                if time.monotonic() > deadline or isinstance(exc, KeyError):
                    raise
                log.debug("admin request failed, retrying: %r", exc)
                time.sleep(0.2)

    def partitions(self, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Partition metadata of ``topic`` (dicts with partition_index, leader_id, ...)."""
        topics = self._retry(lambda admin: admin.describe_topics([topic]), timeout)
        for t in topics:
            if t.get("name") == topic:
                parts: list[dict[str, Any]] = t.get("partitions") or []
                return sorted(parts, key=lambda p: int(p["partition_index"]))
        raise KeyError(f"topic {topic!r} not found")

    def leader_of(self, topic: str, partition: int = 0) -> int:
        """Node id of the current leader of ``topic``/``partition`` (-1 if none)."""
        for p in self.partitions(topic):
            if int(p["partition_index"]) == partition:
                return int(p["leader_id"])
        raise KeyError(f"{topic!r} has no partition {partition}")


class ExternalCluster(KafkaCluster):
    """A cluster this process did not start (``KAFKA_BOOTSTRAP_SERVERS``)."""

    source = "external"

    def __init__(self, bootstrap_servers: str, brokers: list[BrokerNode]) -> None:
        super().__init__(brokers)
        self._bootstrap = bootstrap_servers

    @property
    def bootstrap_servers(self) -> str:
        """Exactly the address list this cluster was given."""
        return self._bootstrap

    def _client_bootstrap(self) -> str:
        return self._bootstrap

    @classmethod
    def connect(cls, bootstrap_servers: str, timeout: float = 30.0,
                client_configs: Mapping[str, Any] | None = None) -> ExternalCluster:
        """Check that ``bootstrap_servers`` answers a metadata request and describe it;
        ``client_configs``: kafka-python security settings to connect with."""
        cluster = cls(bootstrap_servers, [])
        cluster.client_configs = dict(client_configs or {})
        deadline = time.monotonic() + timeout
        while True:
            try:
                meta = cluster.describe_cluster(timeout=min(10.0, timeout))
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise BrokerStartError(
                        f"KAFKA_BOOTSTRAP_SERVERS={bootstrap_servers} is set but no broker "
                        f"answered a metadata request within {timeout:.0f} s "
                        f"({type(exc).__name__}: {exc})") from exc
                time.sleep(0.5)
        cluster.brokers = [BrokerNode(int(b["broker_id"]), str(b["host"]), int(b["port"]),
                                      state="external") for b in meta["brokers"]]
        return cluster
