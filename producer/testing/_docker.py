"""A single-node broker in an ``apache/kafka`` container, via testcontainers.

Not exercised by this project's tests: our machines have no Docker daemon.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Mapping
from typing import Any

from ._cluster import BrokerNode, KafkaCluster, _normalize_overrides
from ._jars import (
    KAFKA_VERSION,
)
from ._ports import HOST, free_ports, release_ports

__all__ = ["DockerCluster", "docker_available"]


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

        self._ports = free_ports(1)
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
        release_ports(self._ports)


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
