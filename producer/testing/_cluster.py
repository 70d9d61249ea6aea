"""Kafka clusters for tests: local KRaft JVMs from the Maven jars, Docker, or an existing one."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import _proc
from ._errors import BrokerStartError, KafkaHarnessError, UnsupportedOperationError
from ._jars import (
    KAFKA_VERSION,
    cache_root,
    ensure_kafka_jars,
    file_lock,
    find_java,
    java_version,
    log4j_config_text,
)
from ._security import ClusterSecurity, check_protocol

log = logging.getLogger("producer.testing")
_T = TypeVar("_T")

HOST = "127.0.0.1"
#: JVM flags of the brokers besides the heap (override with ``KAFKA_HARNESS_JVM_OPTS``).
DEFAULT_JVM_OPTS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true")
HEAP_OPTS = ("-Xms256m", "-Xmx512m")
_TOOL_JVM_OPTS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                  "-Djava.awt.headless=true")
_PORT_ATTEMPTS = 3
_BIND_ERROR = re.compile(r"BindException|Address already in use")
_BIND_FAILED = re.compile(r"Socket server failed to bind|BindException")
SOURCES = ("auto", "local", "external", "docker", "jars")

# Ports handed to clusters of this process that are still open; never handed out twice, so a
# killed node can be restarted on its ports while another cluster starts.
_reserved_ports: set[int] = set()
_ports_lock = threading.Lock()


def _free_ports(n: int) -> list[int]:
    socks: list[socket.socket] = []
    try:
        with _ports_lock:
            ports: list[int] = []
            while len(ports) < n:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((HOST, 0))
                port = int(s.getsockname()[1])
                if port not in _reserved_ports:
                    ports.append(port)
            _reserved_ports.update(ports)
            return ports
    finally:
        for s in socks:
            s.close()


def _release_ports(ports: list[int]) -> None:
    with _ports_lock:
        _reserved_ports.difference_update(ports)


def _port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


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
                if time.monotonic() > deadline or type(exc).__name__ in (
                        "InvalidReplicationFactorError", "InvalidPartitionsError",
                        "InvalidTopicError", "InvalidConfigurationError",
                        "TopicAlreadyExistsError"):
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


class LocalCluster(KafkaCluster):
    """KRaft cluster of JVMs started from the Maven jars; every node is broker+controller."""

    source = "local"

    def __init__(self, brokers: int = 1, *, overrides: Mapping[str, object] | None = None,
                 kafka_version: str = KAFKA_VERSION, start_timeout: float = 120.0,
                 jvm_opts: list[str] | None = None, cds: bool | None = None,
                 security: str = "PLAINTEXT") -> None:
        if brokers < 1:
            raise ValueError("brokers must be >= 1")
        super().__init__([], kafka_version)
        if check_protocol(security) != "PLAINTEXT":
            self.tls_sasl = ClusterSecurity(security)
        self.size = brokers
        self.overrides = _normalize_overrides(overrides or {})
        self.start_timeout = start_timeout
        if jvm_opts is None:
            env_opts = os.environ.get("KAFKA_HARNESS_JVM_OPTS")
            jvm_opts = env_opts.split() if env_opts is not None else list(DEFAULT_JVM_OPTS)
        self.jvm_opts = list(jvm_opts)
        self.cds = os.environ.get("KAFKA_HARNESS_CDS", "1") != "0" if cds is None else cds
        self._cds_opts: list[str] = []
        self.cluster_id = random_cluster_id()
        self.workdir: Path | None = None
        self.libs: Path | None = None
        self._java = ""
        self._ports: list[int] = []
        self._lock = threading.RLock()
        self._closed = False

    # -- configuration ----------------------------------------------------------------------

    def _properties(self, node: BrokerNode, voters: str) -> dict[str, str]:
        assert node.workdir is not None
        n = self.size
        rf = str(min(3, n))
        min_isr = "2" if n >= 3 else "1"
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:"
                         f"{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(node.workdir / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": "3",
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "share.coordinator.state.topic.num.partitions": "3",
            "group.initial.rebalance.delay.ms": "0",
            # A killed node cannot register again before its old session expires
            # (DUPLICATE_BROKER_REGISTRATION): 9 s by default. Also detects a stopped node sooner.
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "4000",
            # The cleaner allocates its dedupe buffer up front (128 MiB by default).
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }
        if self.tls_sasl is not None:
            assert node.controller_port is not None
            props.update(self.tls_sasl.broker_properties(node.port, node.controller_port, HOST))
        props.update(self.overrides)
        return props

    def _jvm(self, extra: tuple[str, ...] | list[str]) -> list[str]:
        assert self.workdir is not None and self.libs is not None
        return [self._java, *extra,
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
                "-cp", f"{self.libs}/*"]

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalCluster:
        """Fetch the jars if needed, format storage and start every node; wait until ready."""
        t0 = time.monotonic()
        self._java = find_java()
        self.libs = ensure_kafka_jars(self.kafka_version or KAFKA_VERSION)
        archive = self._cds_archive()
        self._cds_opts = [f"-XX:SharedArchiveFile={archive}"] if archive else []
        self.workdir = Path(tempfile.mkdtemp(prefix="kafka-harness-"))
        (self.workdir / "log4j2.properties").write_text(log4j_config_text())
        if self.tls_sasl is not None:
            self.tls_sasl.write_files(self.workdir / "tls")
        deadline = time.monotonic() + self.start_timeout
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                try:
                    self._start_attempt(deadline)
                    if self.tls_sasl is not None:
                        with self.admin() as admin:
                            self.tls_sasl.grant_acls(admin)
                    break
                except _PortConflict as exc:
                    log.warning("port conflict starting Kafka (attempt %d): %s", attempt, exc)
                    self._kill_all()
                    if attempt == _PORT_ATTEMPTS:
                        raise BrokerStartError(f"ports kept conflicting: {exc}") from None
        except BaseException:
            self._kill_all()
            _release_ports(self._ports)
            raise
        log.info("Kafka %s cluster of %d node(s) ready at %s (%s) in %.1f s (logs: %s)",
                 self.kafka_version, self.size, self.bootstrap_servers, self.security,
                 time.monotonic() - t0, self.workdir)
        return self

    def _cds_archive(self) -> Path | None:
        """A class-data sharing archive of the broker's classes: JVMs start ~2x faster.

        Made once per Kafka version, java and JVM flags by a throwaway broker started with
        ``-XX:ArchiveClassesAtExit`` (the JVM writes it when it exits cleanly, after SIGTERM).
        Only for the default JVM flags; ``KAFKA_HARNESS_CDS=0`` turns it off.
        """
        if not self.cds or self.jvm_opts != list(DEFAULT_JVM_OPTS) or self.libs is None:
            return None
        jars = sorted((p.name, p.stat().st_size) for p in self.libs.glob("*.jar"))
        key = hashlib.sha256(json.dumps([
            os.path.realpath(self._java), java_version(self._java), str(self.libs), jars,
            self.jvm_opts, HEAP_OPTS]).encode()).hexdigest()[:16]
        archive = cache_root() / "cds" / f"kafka-{self.kafka_version}-{key}.jsa"
        failed = archive.with_suffix(".failed")
        if archive.exists():
            return archive
        if failed.exists():
            return None
        with file_lock(archive.with_suffix(".lock")):
            if archive.exists() or failed.exists():
                return archive if archive.exists() else None
            tmp = archive.with_name(f".{archive.stem}.{os.getpid()}.tmp.jsa")
            log.info("making a class-data sharing archive of Kafka's classes (once; makes "
                     "later broker starts faster): %s", archive)
            t0 = time.monotonic()
            trainer = LocalCluster(1, kafka_version=self.kafka_version or KAFKA_VERSION,
                                   start_timeout=self.start_timeout, cds=False,
                                   jvm_opts=[*self.jvm_opts, f"-XX:ArchiveClassesAtExit={tmp}"])
            try:
                trainer.start()
                proc = trainer.brokers[0].process
                trainer.close(graceful_timeout=180)
                rc = proc.returncode if proc is not None else None
                if rc in (0, 143) and tmp.exists() and tmp.stat().st_size > 1 << 20:
                    os.replace(tmp, archive)
                    log.info("class-data sharing archive made in %.1f s",
                             time.monotonic() - t0)
                    return archive
                failed.write_text(f"training broker exited with {rc}; see its log\n")
                log.warning("could not make a class-data sharing archive (exit code %s); "
                            "brokers will start without one", rc)
                return None
            except KafkaHarnessError as exc:  # the real start will report the cause
                log.warning("class-data sharing archive not made: %s", exc)
                return None
            finally:
                trainer.close()
                with contextlib.suppress(OSError):
                    tmp.unlink()

    def _start_attempt(self, deadline: float) -> None:
        assert self.workdir is not None
        _release_ports(self._ports)
        self._ports = _free_ports(2 * self.size)
        self.brokers = []
        for i in range(self.size):
            node_dir = self.workdir / f"node-{i + 1}"
            if node_dir.exists():
                shutil.rmtree(node_dir)
            node_dir.mkdir()
            self.brokers.append(BrokerNode(i + 1, HOST, self._ports[2 * i],
                                           self._ports[2 * i + 1], node_dir, state="killed"))
        voters = ",".join(f"{b.node_id}@{HOST}:{b.controller_port}" for b in self.brokers)
        for b in self.brokers:
            assert b.workdir is not None
            props = self._properties(b, voters)
            (b.workdir / "server.properties").write_text(
                "".join(f"{k}={v}\n" for k, v in props.items()))
        self._format_storage()
        for b in self.brokers:
            self._launch(b)
        self._wait_started({b.node_id for b in self.brokers}, deadline)

    def _format_storage(self) -> None:
        procs = []
        for b in self.brokers:
            assert b.workdir is not None
            cmd = [*self._jvm([*_TOOL_JVM_OPTS, *self._cds_opts]), "kafka.tools.StorageTool",
                   "format",
                   "-t", self.cluster_id, "-c", str(b.workdir / "server.properties")]
            if self.tls_sasl is not None:
                cmd += self.tls_sasl.format_args()
            with open(b.workdir / "format.log", "wb") as fh:
                procs.append((b, _proc.spawn(cmd, cwd=b.workdir, log=fh)))
        failed = []
        for b, p in procs:
            try:
                rc = p.wait(120)
            except subprocess.TimeoutExpired:
                _proc.kill(p)
                rc = -1
            _proc.forget(p)
            if rc != 0:
                assert b.workdir is not None
                failed.append(f"node {b.node_id} (exit {rc}):\n"
                              f"{_tail(b.workdir / 'format.log', 25)}")
        if failed:
            raise BrokerStartError("kafka.tools.StorageTool format failed for "
                                   + "\n".join(failed))

    def _launch(self, b: BrokerNode) -> None:
        assert b.workdir is not None
        cmd = [*self._jvm([*HEAP_OPTS, *self.jvm_opts, *self._cds_opts]), "kafka.Kafka",
               str(b.workdir / "server.properties")]
        with open(b.workdir / "broker.log", "ab") as fh:
            b.process = _proc.spawn(cmd, cwd=b.workdir, log=fh)
        b.state = "running"

    def _died(self, b: BrokerNode) -> BrokerStartError:
        tail = b.log_tail()
        rc = b.process.returncode if b.process is not None else None
        msg = (f"Kafka node {b.node_id} exited with code {rc} while starting; "
               f"last lines of {b.log_path}:\n{tail}")
        if _BIND_ERROR.search(tail):
            return _PortConflict(msg)
        return BrokerStartError(msg)

    def _check_alive(self) -> None:
        for b in self.brokers:
            if b.state == "running" and b.process is not None and b.process.poll() is not None:
                raise self._died(b)

    def _wait_started(self, node_ids: set[int], deadline: float) -> None:
        last = "no broker port open yet"
        while True:
            self._check_alive()
            for b in self.brokers:
                # Kafka takes seconds to exit after a failed bind: don't wait for that.
                if b.node_id in node_ids and _BIND_FAILED.search(b.log_tail(200)):
                    raise _PortConflict(f"node {b.node_id} could not bind its ports; last "
                                        f"lines of {b.log_path}:\n{b.log_tail()}")
            nodes = [self.node(i) for i in node_ids]
            if all(_port_open(b.port) for b in nodes):
                try:
                    have = self.live_broker_ids(timeout=5.0)
                    if node_ids <= have:
                        return
                    last = f"brokers up: {sorted(have)}, waiting for {sorted(node_ids - have)}"
                except Exception as exc:
                    last = f"metadata request failed: {type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- node {b.node_id}: {b.log_path}\n{b.log_tail(30)}"
                                  for b in nodes)
                raise BrokerStartError(
                    f"Kafka did not become ready within {self.start_timeout:.0f} s ({last}); "
                    f"log tails:\n{tails}")
            time.sleep(0.2)

    def _signal(self, node_id: int, sig: int, state: str) -> BrokerNode:
        with self._lock:
            b = self.node(node_id)
            if b.process is None or not _proc.signal_group(b.process, sig):
                raise KafkaHarnessError(f"node {node_id} is not running (state {b.state})")
            b.state = state
            return b

    def stop(self, node_id: int) -> None:
        """Freeze a broker with SIGSTOP (it keeps its sockets but answers nothing)."""
        self._signal(node_id, signal.SIGSTOP, "stopped")

    def resume(self, node_id: int) -> None:
        """Let a stopped broker run again (SIGCONT)."""
        self._signal(node_id, signal.SIGCONT, "running")

    def kill(self, node_id: int) -> None:
        """Kill a broker with SIGKILL (no shutdown at all) and reap it."""
        with self._lock:
            b = self.node(node_id)
            if b.process is not None:
                _proc.kill(b.process)
            b.state = "killed"

    def restart(self, node_id: int, *, wait: bool = True, timeout: float = 120.0) -> None:
        """Start a broker again on its ports and log dirs (killing it first if it runs)."""
        with self._lock:
            b = self.node(node_id)
            if b.process is not None and b.process.poll() is None:
                _proc.kill(b.process)
            with open(b.log_path or os.devnull, "ab") as fh:
                fh.write(f"\n===== kafka-harness: restarting node {node_id} =====\n".encode())
            self._launch(b)
        if wait:
            self._wait_started({node_id}, time.monotonic() + timeout)

    def _kill_all(self) -> None:
        for b in self.brokers:
            if b.process is not None:
                _proc.kill(b.process)
                b.state = "killed"

    def close(self, graceful_timeout: float = 0.0) -> None:
        """Stop every node (SIGTERM first if ``graceful_timeout`` > 0) and delete the files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if graceful_timeout > 0:
                running = [b for b in self.brokers
                           if b.process is not None and b.process.poll() is None]
                for b in running:
                    assert b.process is not None
                    _proc.signal_group(b.process, signal.SIGCONT)
                    _proc.signal_group(b.process, signal.SIGTERM)
                end = time.monotonic() + graceful_timeout
                for b in running:
                    assert b.process is not None
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        b.process.wait(max(0.0, end - time.monotonic()))
            self._kill_all()
            _release_ports(self._ports)
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)


class _PortConflict(BrokerStartError):
    pass


class DockerCluster(KafkaCluster):
    """A single-node KRaft broker in an ``apache/kafka`` container (via testcontainers)."""

    source = "docker"

    def __init__(self, *, overrides: Mapping[str, object] | None = None,
                 kafka_version: str = KAFKA_VERSION, start_timeout: float = 120.0) -> None:
        super().__init__([], kafka_version)
        self.overrides = _normalize_overrides(overrides or {})
        self.start_timeout = start_timeout
        self._container: Any = None
        self._ports: list[int] = []

    def start(self) -> DockerCluster:
        """Start the container (host port = container port, advertised as 127.0.0.1)."""
        from testcontainers.core.container import DockerContainer

        self._ports = _free_ports(1)
        port = self._ports[0]
        env = {
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://127.0.0.1:9093",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{HOST}:{port}",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@127.0.0.1:9093",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "3",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        }
        for key, value in self.overrides.items():
            env["KAFKA_" + key.upper().replace(".", "_")] = value
        container = DockerContainer(f"apache/kafka:{self.kafka_version}")
        container.with_bind_ports(port, port)
        for k, v in env.items():
            container.with_env(k, v)
        self._container = container.start()
        self.brokers = [BrokerNode(1, HOST, port, state="running")]
        try:
            self.wait_for_brokers({1}, timeout=self.start_timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop and remove the container."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.stop()
            self._container = None
        _release_ports(self._ports)


def docker_available(timeout: float = 2.0) -> bool:
    """True only if a Docker daemon answers a ping; cheap when there is none."""
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return False
    try:
        docker: Any = importlib.import_module("docker")  # no type stubs
        client = docker.from_env(timeout=int(max(1, timeout)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


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
