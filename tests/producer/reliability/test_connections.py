"""TCP connections the producer opens while it sends (issue 7): one per broker plus the
bootstrap connection, not one per request.

A sampler thread reads ``/proc/net/tcp`` every 20 ms, keeps the ESTABLISHED sockets that
belong to this process (their inodes are among ``/proc/self/fd``), were opened after the
test started, and go to a broker's port; it records how many were open at once and every
distinct local port seen.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from reliability_helpers import Stream, read_topic, tally

from producer import AsyncProducer, Config
from producer.testing import KafkaCluster

ESTABLISHED = "01"


def _socket_inodes() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def established(ports: set[int]) -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of this process's ESTABLISHED TCP sockets to
    ``ports``."""
    mine = _socket_inodes()
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != ESTABLISHED or cols[9] not in mine:
                continue
            local_port = int(cols[1].rsplit(":", 1)[1], 16)
            remote_port = int(cols[2].rsplit(":", 1)[1], 16)
            if remote_port in ports:
                found.append((local_port, remote_port, cols[9]))
    return found


@dataclass
class ConnectionSampler:
    broker_ports: set[int]
    every: float = 0.02
    ignore: set[str] = field(default_factory=set)  # inodes open before the test
    local_ports: set[int] = field(default_factory=set)
    per_broker: dict[int, set[int]] = field(default_factory=dict)
    peak: int = 0
    samples: int = 0

    def __post_init__(self) -> None:
        self.ignore = {inode for _, _, inode in established(self.broker_ports)}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-sampler",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        now = [c for c in established(self.broker_ports) if c[2] not in self.ignore]
        self.samples += 1
        self.peak = max(self.peak, len(now))
        for local, remote, _ in now:
            self.local_ports.add(local)
            self.per_broker.setdefault(remote, set()).add(local)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.sample()


def count_connections(cluster: KafkaCluster, topic: str, partitions: int,
                      total: int) -> tuple[ConnectionSampler, float]:
    ports = {b.port for b in cluster.brokers}
    sampler = ConnectionSampler(ports)
    c = Config()
    c.producer.return_successes = True
    start = time.monotonic()
    try:
        p = AsyncProducer(cluster.bootstrap_servers, c)
        s = Stream(p, topic, total, keys=997)
        s.close(timeout=600)
    finally:
        sampler.stop()
    took = time.monotonic() - start
    t = tally(s, read_topic(cluster.bootstrap_servers, topic, partitions))
    t.assert_exactly_once()
    assert t.errors == 0, t.row()
    return sampler, took


def check(sampler: ConnectionSampler, brokers: int, total: int, took: float,
          name: str) -> None:
    print(f"\nRELIABILITY connections-{name}: {total} messages in {took:.1f} s, "
          f"{sampler.samples} samples, at most {sampler.peak} open at once, "
          f"{len(sampler.local_ports)} distinct local ports, per broker port "
          f"{ {p: len(v) for p, v in sampler.per_broker.items()} }", flush=True)
    assert sampler.samples > 10
    assert sampler.peak >= 1
    # One connection per broker, plus the bootstrap one (closed after bootstrap; it goes
    # to a broker's port too, so it may show as a second port to that broker).
    assert len(sampler.local_ports) <= brokers + 1, sampler.per_broker
    assert sampler.peak <= brokers + 1, sampler.per_broker
    assert len(sampler.per_broker) <= brokers


@pytest.mark.timeout(300)
def test_connections_20k_one_broker(kafka_cluster: KafkaCluster,
                                    new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=3)
    total = 20_000
    sampler, took = count_connections(kafka_cluster, topic, 3, total)
    check(sampler, 1, total, took, "20k-1-broker")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_connections_100k_one_broker(kafka_cluster: KafkaCluster,
                                     new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=3)
    total = 100_000
    sampler, took = count_connections(kafka_cluster, topic, 3, total)
    check(sampler, 1, total, took, "100k-1-broker")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_connections_100k_three_brokers(cluster3: KafkaCluster,
                                        topic3: Callable[..., str]) -> None:
    topic = topic3(6)
    total = 100_000
    sampler, took = count_connections(cluster3, topic, 6, total)
    check(sampler, 3, total, took, "100k-3-brokers")
    assert len(sampler.per_broker) == 3  # the six leaders are spread over the three nodes
