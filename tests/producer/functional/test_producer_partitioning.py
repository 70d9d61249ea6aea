"""Partitioning against a real broker: the key partitioners put each key on the
partition sarama's own code chooses (``../sarama_vectors/vectors.json``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from producer_helpers import Drain, config, consume

from producer import AsyncProducer, ProducerMessage
from producer.testing import KafkaCluster

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "sarama_vectors" /
                      "vectors.json").read_text())


def _sample(n_partitions: int) -> list[tuple[bytes, dict[str, int]]]:
    column = VECTORS["partition_counts"].index(n_partitions)
    out = []
    for v in VECTORS["vectors"][::3]:  # every third vector: all kinds, a third of the work
        key = bytes.fromhex(v["key_hex"])
        out.append((key, {name: parts[column] for name, parts in v["partitions"].items()}))
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("n_partitions", [7, 16])
def test_key_partitioners_agree_with_sarama_on_the_broker(kafka_cluster: KafkaCluster,
                                                          new_topic, n_partitions: int) -> None:
    bootstrap = kafka_cluster.bootstrap_servers
    sample = _sample(n_partitions)
    for name in ("hash", "reference_hash", "murmur2", "crc32"):
        topic = new_topic(partitions=n_partitions)
        p = AsyncProducer(bootstrap, config(successes=True, partitioner=name))
        drain = Drain(p)
        for i, (key, _) in enumerate(sample):
            p.input().send(ProducerMessage(topic, key=key, value=b"%d" % i, metadata=i),
                           timeout=10)
        p.async_close()
        drain.join()
        assert drain.errors == []
        got = {m.metadata: m.partition for m in drain.successes}
        assert got == {i: want[name] for i, (_, want) in enumerate(sample)}, name
        records = consume(bootstrap, topic, n_partitions, len(sample))
        assert {int(r.value): r.partition for r in records} == got, name
        assert all(r.key == sample[int(r.value)][0] for r in records)


@pytest.mark.timeout(60)
def test_default_partitioner_is_sarama_hash(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=7)
    sample = _sample(7)[:20]
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(successes=True))
    drain = Drain(p)
    for key, _ in sample:
        p.input().send(ProducerMessage(topic, key=key, value=b"v"), timeout=10)
    p.async_close()
    drain.join()
    assert sorted((m.key, m.partition) for m in drain.successes) == sorted(
        (key, want["hash"]) for key, want in sample)


@pytest.mark.timeout(60)
def test_round_robin_manual_and_nil_keys(kafka_cluster: KafkaCluster, new_topic) -> None:
    bootstrap = kafka_cluster.bootstrap_servers
    topic = new_topic(partitions=3)

    def produce(partitioner: str, msgs: list[ProducerMessage]) -> list[ProducerMessage]:
        p = AsyncProducer(bootstrap, config(successes=True, partitioner=partitioner))
        drain = Drain(p)
        for m in msgs:
            p.input().send(m, timeout=10)
        p.async_close()
        drain.join()
        assert drain.errors == []
        return sorted(drain.successes, key=lambda m: m.metadata)

    rr = produce("round_robin", [ProducerMessage(topic, key=b"same", value=b"rr", metadata=i)
                                 for i in range(12)])
    assert [m.partition for m in rr] == [0, 1, 2] * 4
    manual = produce("manual", [ProducerMessage(topic, value=b"man", partition=2 - i % 3,
                                                metadata=i) for i in range(6)])
    assert [m.partition for m in manual] == [2 - i % 3 for i in range(6)]
    nil = produce("hash", [ProducerMessage(topic, value=b"nil", metadata=i)
                           for i in range(300)])
    spread = Counter(m.partition for m in nil)
    assert set(spread) == {0, 1, 2} and min(spread.values()) > 50, spread
    records = consume(bootstrap, topic, 3, 318)
    assert Counter((r.value, r.partition) for r in records) == Counter(
        (m.value, m.partition) for m in rr + manual + nil)
