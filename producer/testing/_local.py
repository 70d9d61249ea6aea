"""A KRaft cluster of local JVMs started from the Maven jars (every node broker+controller)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from . import _proc
from ._cluster import BrokerNode, KafkaCluster, _normalize_overrides, _tail, random_cluster_id
from ._errors import BrokerStartError, KafkaHarnessError
from ._jars import (
    KAFKA_VERSION,
    cache_root,
    ensure_kafka_jars,
    file_lock,
    find_java,
    java_version,
    log4j_config_text,
)
from ._ports import HOST, free_ports, port_open, release_ports
from ._security import ClusterSecurity, check_protocol

__all__ = ["DEFAULT_JVM_OPTS", "LocalCluster"]

log = logging.getLogger("producer.testing")

#: JVM flags of the brokers besides the heap (override with ``KAFKA_HARNESS_JVM_OPTS``).
DEFAULT_JVM_OPTS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true")
HEAP_OPTS = ("-Xms256m", "-Xmx512m")
_TOOL_JVM_OPTS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                  "-Djava.awt.headless=true")
_PORT_ATTEMPTS = 3
_BIND_ERROR = re.compile(r"BindException|Address already in use")
_BIND_FAILED = re.compile(r"Socket server failed to bind|BindException")


class _PortConflict(BrokerStartError):
    pass


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
        self.warm_up = False  # the throwaway broker that makes the class-data sharing archive
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
            release_ports(self._ports)
            raise
        if self.warm_up:  # not for clients: say so, and give no address to copy by mistake
            log.info("Kafka %s warm-up broker started in %.1f s (it only records the "
                     "class-data sharing archive, then stops)", self.kafka_version,
                     time.monotonic() - t0)
        else:
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
            trainer.warm_up = True
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
        release_ports(self._ports)
        self._ports = free_ports(2 * self.size)
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
            if all(port_open(b.port) for b in nodes):
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
            release_ports(self._ports)
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
