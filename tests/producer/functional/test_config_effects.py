"""sarama settings shown by their effect on a real broker (issue 16): the batches the
broker stores for ``producer.flush.messages`` / ``.max_messages`` (read from its log),
the size of gzip batches at ``producer.compression_level``, the keep-alive options of the
client's sockets for ``net.keep_alive``, and the topics a refresh brings for
``metadata.full``. ``tests/producer/test_config_fields.py`` maps every config field to
its effect test or its refusal.

The faults (``retry.backoff_func`` and ``net.read_timeout`` against a paused broker) are
in ``tests/producer/reliability/test_timeouts_and_backoff.py``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from producer_helpers import config, stored_batches

from producer import AsyncProducer, BrokerError, Compression, ProducerMessage, SyncProducer
from producer.testing import KafkaCluster


def produce(cluster: KafkaCluster, topic: str, values: list[bytes], **fields: Any) -> None:
    """Send every value on one AsyncProducer's input() before reading any result, so the
    dispatcher batches them as the config says; every one must succeed."""
    c = config(successes=True)
    for path, value in fields.items():
        obj: Any = c
        *parents, last = path.split("__")
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, last, value)
    with AsyncProducer(cluster.bootstrap_servers, c) as p:
        for value in values:
            p.input().send(ProducerMessage(topic, value=value))
        for _ in values:
            assert p.successes().recv(timeout=60).offset >= 0


# -- producer.flush.messages / .max_messages ---------------------------------------------

@pytest.mark.timeout(120)
def test_flush_messages_sends_each_batch_at_that_many_records(
        kafka_cluster: KafkaCluster, new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    # frequency 2 s: without flush.messages all 35 wait in one batch for it
    produce(kafka_cluster, topic, [b"m%d" % i for i in range(35)],
            producer__flush__messages=10, producer__flush__frequency=2.0)
    assert [b.records for b in stored_batches(kafka_cluster, topic)] == [10, 10, 10, 5]


@pytest.mark.timeout(120)
def test_flush_max_messages_caps_each_batch(kafka_cluster: KafkaCluster,
                                            new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    produce(kafka_cluster, topic, [b"m%d" % i for i in range(10)],
            producer__flush__max_messages=4, producer__flush__frequency=1.0)
    assert [b.records for b in stored_batches(kafka_cluster, topic)] == [4, 4, 2]


@pytest.mark.timeout(120)
def test_flush_max_messages_without_frequency_only_caps(kafka_cluster: KafkaCluster,
                                                        new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    produce(kafka_cluster, topic, [b"m%d" % i for i in range(200)],
            producer__flush__max_messages=7)
    counts = [b.records for b in stored_batches(kafka_cluster, topic)]
    assert sum(counts) == 200 and max(counts) <= 7, counts


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
def test_perf_flush_flags_shape_the_stored_batches(kafka_cluster: KafkaCluster, new_topic: Any,
                                                   subprocess_env: dict[str, str],
                                                   sync: bool) -> None:
    topic = new_topic(partitions=1)
    args = ["--brokers", kafka_cluster.bootstrap_servers, "--topic", topic,
            "--message-size", "20", "--flush-frequency", "500ms"]
    if sync:  # 8 sends wait together in each lingering batch; at most 3 per batch
        args += ["--sync", "--routines", "8", "--message-load", "80",
                 "--flush-max-messages", "3"]
        load, most = 80, 3
    else:  # input() is fed faster than batches go out
        args += ["--message-load", "300", "--flush-messages", "25",
                 "--flush-max-messages", "40"]
        load, most = 300, 25
    out = subprocess.run([sys.executable, "-m", "producer", "perf", *args],
                         capture_output=True, text=True, env=subprocess_env, timeout=150)
    assert out.returncode == 0, out.stdout + out.stderr
    counts = [b.records for b in stored_batches(kafka_cluster, topic)]
    assert sum(counts) == load and max(counts) == most, counts
    if not sync:
        assert counts.count(25) >= 10, counts


# -- producer.compression_level ----------------------------------------------------------

@pytest.mark.timeout(120)
def test_gzip_level_changes_the_stored_batch(kafka_cluster: KafkaCluster,
                                             new_topic: Any) -> None:
    values = [b"%06d sarama kafka producer level " % i * 4 for i in range(400)]
    sizes = {}
    for level in (1, 9):
        topic = new_topic(partitions=1)
        produce(kafka_cluster, topic, values, producer__compression=Compression.GZIP,
                producer__compression_level=level, producer__flush__frequency=1.0,
                producer__flush__max_messages=400)
        (batch,) = stored_batches(kafka_cluster, topic)
        assert (batch.records, batch.compression) == (400, 1)  # one gzip batch
        sizes[level] = batch.size
    assert sizes[1] > sizes[9], sizes  # kafka-python alone writes level 9 for both


# -- net.keep_alive ----------------------------------------------------------------------

def client_sockets(p: SyncProducer) -> list[socket.socket]:
    """The sockets of the producer's Kafka client connections (kafka-python 3.0)."""
    manager = p._producer._client._sender._client._manager
    socks = [conn.transport._sock for conn in manager._conns.values()
             if getattr(conn, "transport", None) is not None]
    assert socks, "the client has no open connection"
    return socks


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("keep_alive", "idle"), [(7.0, 7), (0.0, 15), (-1.0, None)],
                         ids=["7s", "default-15s", "off"])
def test_keep_alive_period_on_the_client_sockets(kafka_cluster: KafkaCluster, new_topic: Any,
                                                 keep_alive: float, idle: int | None) -> None:
    topic = new_topic(partitions=1)
    c = config(successes=True)
    c.net.keep_alive = keep_alive
    with SyncProducer(kafka_cluster.bootstrap_servers, c) as p:
        p.send_message(ProducerMessage(topic, value=b"v"))
        for sock in client_sockets(p):
            on = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            if idle is None:
                assert on == 0
            else:
                assert on != 0
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == idle
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == idle


# -- metadata.full -----------------------------------------------------------------------

@pytest.mark.timeout(120)
@pytest.mark.parametrize("full", [True, False], ids=["full", "minimal"])
def test_metadata_full_knows_every_topic(kafka_cluster: KafkaCluster, new_topic: Any,
                                         full: bool) -> None:
    used, other = new_topic(partitions=1), new_topic(partitions=2)
    c = config(successes=True)
    c.metadata.full = full
    with SyncProducer(kafka_cluster.bootstrap_servers, c) as p:
        p.send_message(ProducerMessage(used, value=b"v"))  # its metadata, by name
        metadata = p._producer._client._metadata
        metadata.request_update()  # a refresh, as refresh_frequency would make
        p.send_message(ProducerMessage(used, value=b"v"))
        deadline_ok = _wait(lambda: not metadata.need_update)
        assert deadline_ok
        known = metadata.topics()
        assert used in known
        assert (other in known) is full, sorted(known)[:20]
        if full:
            assert metadata.partitions_for_topic(other) == {0, 1}


def _wait(cond: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- fields that had no effect test before issue 16 --------------------------------------

@pytest.mark.timeout(120)
def test_flush_bytes_caps_each_batchs_bytes(kafka_cluster: KafkaCluster,
                                            new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    produce(kafka_cluster, topic, [b"%03d" % i + b"x" * 97 for i in range(100)],
            producer__flush__bytes=2000, producer__flush__frequency=1.0)
    batches = stored_batches(kafka_cluster, topic)
    assert sum(b.records for b in batches) == 100
    assert len(batches) >= 5 and max(b.size for b in batches) <= 2000, batches


@pytest.mark.timeout(120)
def test_refresh_frequency_brings_new_partitions(kafka_cluster: KafkaCluster,
                                                 new_topic: Any) -> None:
    from kafka.admin import NewPartitions

    topic = new_topic(partitions=1)
    c = config(successes=True, partitioner="round_robin")
    c.metadata.refresh_frequency = 1.0
    with SyncProducer(kafka_cluster.bootstrap_servers, c) as p:
        assert p.send_message(ProducerMessage(topic, value=b"one partition"))[0] == 0
        with kafka_cluster.admin() as admin:
            admin.create_partitions({topic: NewPartitions(3)})
        seen = {0}
        deadline = time.monotonic() + 30
        while seen != {0, 1, 2} and time.monotonic() < deadline:
            seen.add(p.send_message(ProducerMessage(topic, value=b"v"))[0])
            time.sleep(0.05)
    assert seen == {0, 1, 2}, seen  # refresh_frequency = 600 s would keep one partition


@pytest.mark.timeout(120)
def test_metadata_retry_sets_how_long_a_missing_topic_stays_failed(
        kafka_cluster: KafkaCluster) -> None:
    from producer.testing.pytest_plugin import unique_topic_name

    topic = unique_topic_name("late-topic")
    c = config(successes=True, timeout=2.0)
    c.metadata.allow_auto_topic_creation = False
    c.metadata.retry.max = 2
    c.metadata.retry.backoff = 2.0  # remembered as failing for (2 + 1) * 2 s = 6 s
    with SyncProducer(kafka_cluster.bootstrap_servers, c) as p:
        with pytest.raises(BrokerError, match="unknown topic or partition"):
            p.send_message(ProducerMessage(topic, value=b"v"))
        failed_at = time.monotonic()
        kafka_cluster.create_topic(topic, 1)
        with pytest.raises(BrokerError, match="unknown topic or partition"):
            p.send_message(ProducerMessage(topic, value=b"v"))  # within the 6 s: at once
        assert time.monotonic() - failed_at < 6.0, "too slow to show the remembered failure"
        time.sleep(max(0.0, failed_at + 6.5 - time.monotonic()))
        assert p.send_message(ProducerMessage(topic, value=b"v"))[1] >= 0
