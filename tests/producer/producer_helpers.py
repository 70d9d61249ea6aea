"""Helpers for the producer tests on a broker (functional ``test_producer_*.py`` and the
reliability tests): importable by name from any test under ``tests/producer/``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gochan
from gochan import go, select
from producer import AsyncProducer, Config, ProducerError, ProducerMessage


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def consume(bootstrap: str, topic: str, partitions: int, expected: int,
            timeout: float = 60.0) -> list[Record]:
    """Every record of ``topic`` (read from the start with a plain kafka-python consumer).

    Reads until ``expected`` records arrived or ``timeout``, then polls once more so
    that records beyond ``expected`` (duplicates) are seen too.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             client_id="producer-tests-consumer")
    out: list[Record] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout

        def poll(ms: int) -> None:
            for tp, records in consumer.poll(timeout_ms=ms, max_records=10_000).items():
                out.extend(Record(tp.partition, r.offset, r.key, r.value, list(r.headers or []))
                           for r in records)

        while len(out) < expected and time.monotonic() < deadline:
            poll(500)
        poll(200)
    finally:
        consumer.close()
    return out


def rss_kib() -> int:
    """This process's resident set size (VmRSS), KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def config(*, cbs: int | None = None, successes: bool = False, errors: bool = True,
           **producer_fields: Any) -> Config:
    c = Config()
    if cbs is not None:
        c.channel_buffer_size = cbs
    c.producer.return_successes = successes
    c.producer.return_errors = errors
    for name, value in producer_fields.items():
        setattr(c.producer, name, value)
    return c


def accept_until_stalled(send: Callable[[int], None], *, wait: float = 1.0,
                         patience: int = 2, limit: int = 100_000) -> int:
    """Call ``send(i)`` (which raises TimeoutError after ``wait``) until ``patience``
    consecutive sends time out; return how many were accepted. A slow pipeline that
    still moves is not mistaken for a stall: a later send may still succeed."""
    accepted = misses = 0
    while misses < patience:
        if accepted >= limit:
            raise AssertionError(f"no stall after {limit} messages")
        try:
            send(accepted)
        except TimeoutError:
            misses += 1
            continue
        accepted += 1
        misses = 0
    return accepted


class Drain:
    """Goroutines reading ``successes()`` and ``errors()`` into lists until both close."""

    def __init__(self, p: AsyncProducer) -> None:
        self.successes: list[ProducerMessage] = []
        self.errors: list[ProducerError] = []
        self._g = [go(self.successes.extend, p.successes()), go(self.errors.extend, p.errors())]

    def join(self, timeout: float = 60.0) -> Drain:
        deadline = time.monotonic() + timeout
        for g in self._g:
            if not g.join(max(0.0, deadline - time.monotonic())):
                raise AssertionError("successes()/errors() did not close in time")
        return self


def producer_goroutines(baseline: set[int] | None = None) -> list[gochan.Goroutine]:
    """The producer's goroutines alive now (ids not in ``baseline``)."""
    return [g for g in gochan.goroutines()
            if ("AsyncProducer" in g.func_name or "SyncProducer" in g.func_name
                or g.func_name.endswith("_drain"))
            and (baseline is None or g.id not in baseline)]


def goroutine_ids() -> set[int]:
    return {g.id for g in gochan.goroutines()}


def network_threads(baseline: set[int] | None = None) -> list[threading.Thread]:
    """kafka-python / sarama network threads alive now (not in ``baseline``)."""
    return [t for t in threading.enumerate()
            if ("sarama" in t.name or "kafka" in t.name.lower())
            and (baseline is None or t.ident not in baseline)]


def wait_gone(find: Callable[[], list[Any]], timeout: float = 1.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    left = find()
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = find()
    return left


def warm_up(bootstrap: str, topic: str, partitions: int) -> None:
    """One message (value ``b"warm-up"``) per partition, each acknowledged, so every
    partition has its leader before a test checks order: a fresh topic can answer the
    first requests with a retriable error, and a retry can reorder a partition."""
    p = AsyncProducer(bootstrap, config(successes=True, partitioner="manual"))
    try:
        for part in range(partitions):
            msg = ProducerMessage(topic, value=b"warm-up", partition=part)
            p.input().send(msg)
            index, result = select(p.successes().recv, p.errors().recv, timeout=30)
            assert (index, result) == (0, msg), result
    finally:
        p.close()


@dataclass(frozen=True)
class StoredBatch:
    """One record batch as the broker wrote it to its log."""

    base_offset: int
    records: int
    compression: int  # 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
    size: int  # bytes on disk, header included


def stored_batches(cluster: Any, topic: str, partition: int = 0) -> list[StoredBatch]:
    """The record batches of ``topic``/``partition`` read from the broker's log segments
    (the harness's local brokers write them under ``workdir/data``); every replica holds
    the same batches, the first one found is read.

    Raises:
        AssertionError: the cluster is not local (``KAFKA_BOOTSTRAP_SERVERS``): its log
            cannot be read from here.
    """
    from kafka.record.memory_records import MemoryRecords

    dirs = [b.workdir / "data" / f"{topic}-{partition}" for b in cluster.brokers
            if b.workdir is not None]
    assert dirs, ("reading the broker's log needs the harness's local brokers; unset "
                  "KAFKA_BOOTSTRAP_SERVERS")
    found = [d for d in dirs if d.is_dir()]
    assert found, f"no log directory for {topic}-{partition} in {dirs}"
    out = []
    for segment in sorted(found[0].glob("*.log")):
        records = MemoryRecords(segment.read_bytes())
        while (batch := records.next_batch()) is not None:
            out.append(StoredBatch(batch.base_offset, batch.records_count,
                                   batch.compression_type, batch.size_in_bytes))
    return out
