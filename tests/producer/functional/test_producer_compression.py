"""Every codec produced and read back on the broker, and compression_level seen there.

The consumer is kafka-python's; a spy on its record batch decoder records the codec of
each batch the broker returns (the broker stores a producer's batches as sent), and the
broker's DescribeLogDirs gives the bytes a partition holds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from kafka.record.default_records import DefaultRecordBatch
from producer_helpers import consume

from producer import Config, ProducerMessage, SyncProducer
from producer._config import COMPRESSION_LEVEL_DEFAULT, Compression
from producer.testing import KafkaCluster

CODEC_IDS = {Compression.NONE: 0, Compression.GZIP: 1, Compression.SNAPPY: 2,
             Compression.LZ4: 3, Compression.ZSTD: 4}
_WORDS = [b"alpha", b"beta", b"gamma", b"delta", b"kafka", b"sarama", b"producer"]


def _text(seed: int, words: int) -> bytes:
    rng = random.Random(seed)
    return b" ".join(rng.choice(_WORDS) for _ in range(words))


@pytest.fixture
def batch_codecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """(codec id, stored size) of every record batch the consumer decodes."""
    seen: list[tuple[int, int]] = []
    decode = DefaultRecordBatch._maybe_uncompress

    def spy(self: DefaultRecordBatch) -> None:
        if not self._decompressed:
            seen.append((self.compression_type, len(self._buffer)))
        decode(self)

    monkeypatch.setattr(DefaultRecordBatch, "_maybe_uncompress", spy)
    yield seen


def _partition_bytes(cluster: KafkaCluster, topic: str) -> int:
    with cluster.admin() as admin:
        dirs = admin.describe_log_dirs([topic])
    return sum(p["partition_size"] for broker in dirs for log_dir in broker["log_dirs"]
               for t in log_dir["topics"] if t["name"] == topic for p in t["partitions"])


@pytest.mark.timeout(180)
@pytest.mark.parametrize("codec", [Compression.GZIP, Compression.SNAPPY, Compression.LZ4,
                                   Compression.ZSTD], ids=lambda c: c.value)
def test_codec_round_trip(kafka_cluster: KafkaCluster, new_topic,
                          batch_codecs: list[tuple[int, int]], codec: Compression) -> None:
    """2,000 keyed messages with headers, compressed in batches: every one read back
    as sent, at the offset successes() gave, and every stored batch in the codec."""
    topic = new_topic(partitions=3)
    config = Config()
    config.producer.compression = codec
    config.producer.return_successes = True
    config.producer.partitioner = "round_robin"
    msgs = [ProducerMessage(topic, key=f"k{i}", value=_text(i, 40) + b" %d" % i,
                            headers=[("n", b"%d" % i)]) for i in range(2000)]
    with SyncProducer(kafka_cluster.bootstrap_servers, config) as p:
        p.send_messages(msgs)  # fills in partition and offset

    records = consume(kafka_cluster.bootstrap_servers, topic, 3, len(msgs))

    assert len(records) == len(msgs)
    got = {(r.partition, r.offset): r for r in records}
    for msg in msgs:
        r = got[(msg.partition, msg.offset)]
        assert (r.key, r.value, r.headers) == (msg.key.encode(), msg.value,
                                               [(k, v) for k, v in msg.headers])
    assert batch_codecs, "the consumer decoded no record batch"
    print(f"\nROUND TRIP {codec.value}: {len(records)} of {len(msgs)} messages read back in "
          f"{len(batch_codecs)} stored batches, codecs {sorted({c for c, _ in batch_codecs})}, "
          f"{sum(size for _, size in batch_codecs)} B", flush=True)
    assert {codec_id for codec_id, _ in batch_codecs} == {CODEC_IDS[codec]}


# codec -> (a fast level, a strong level)
_LEVELS = [(Compression.GZIP, 1, 9), (Compression.LZ4, 0, 16), (Compression.ZSTD, 1, 19)]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("codec", "fast", "strong"), _LEVELS,
                         ids=lambda v: str(getattr(v, "value", v)))
def test_compression_level_changes_what_the_broker_stores(
        kafka_cluster: KafkaCluster, new_topic, batch_codecs: list[tuple[int, int]],
        codec: Compression, fast: int, strong: int) -> None:
    """One 200 kB message (one batch) per level: the broker holds fewer bytes for the
    stronger level, and the value reads back intact at every level."""
    value = _text(1, 40_000)
    sizes = {}
    for level in (fast, COMPRESSION_LEVEL_DEFAULT, strong):
        topic = new_topic()
        config = Config()
        config.producer.compression = codec
        config.producer.compression_level = level
        config.producer.max_message_bytes = 1_000_000
        config.producer.return_successes = True
        with SyncProducer(kafka_cluster.bootstrap_servers, config) as p:
            p.send_message(ProducerMessage(topic, value=value))
        batch_codecs.clear()
        [record] = consume(kafka_cluster.bootstrap_servers, topic, 1, 1)
        assert record.value == value
        assert [codec_id for codec_id, _ in batch_codecs] == [CODEC_IDS[codec]]
        sizes[level] = _partition_bytes(kafka_cluster, topic)
        assert sizes[level] == batch_codecs[0][1]  # the broker's bytes are that batch
    print(f"\nCOMPRESSION {codec.value}: a {len(value)} B value stored as "
          f"{ {level: size for level, size in sizes.items()} } B by level", flush=True)
    assert sizes[strong] < sizes[fast], sizes
    assert sizes[strong] < len(value) // 5


@pytest.mark.timeout(180)
def test_transactional_batches_compress_at_the_level(
        kafka_cluster: KafkaCluster, new_topic, batch_codecs: list[tuple[int, int]]) -> None:
    """A transactional producer's batches (flagged transactional, written by kafka-python's
    builder) go through the same codec: a committed transaction reads back, an aborted
    one does not, and the stored batches are zstd."""
    from kafka import KafkaConsumer, TopicPartition

    from producer import RequiredAcks

    topic = new_topic()
    config = Config()
    config.producer.idempotent = True
    config.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    config.net.max_open_requests = 1
    config.producer.return_successes = True
    config.producer.transaction.id = f"compression-{topic}"
    config.producer.compression = Compression.ZSTD
    config.producer.compression_level = 19
    committed = [_text(i, 40) for i in range(50)]
    with SyncProducer(kafka_cluster.bootstrap_servers, config) as p:
        p.begin_txn()
        p.send_messages([ProducerMessage(topic, value=v) for v in committed])
        p.commit_txn()
        p.begin_txn()
        p.send_messages([ProducerMessage(topic, value=b"aborted " + v) for v in committed])
        p.abort_txn()

    consumer = KafkaConsumer(bootstrap_servers=kafka_cluster.bootstrap_servers,
                             isolation_level="read_committed", enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        values = [record.value for record in consumer]
    finally:
        consumer.close()
    assert values == committed
    assert {codec_id for codec_id, _ in batch_codecs} == {CODEC_IDS[Compression.ZSTD]}
