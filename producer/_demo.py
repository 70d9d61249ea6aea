"""``python -m producer demo``: produce and consume messages on a real broker.

For now this uses plain kafka-python (``KafkaProducer(acks=1, enable_idempotence=False)``,
sarama's defaults) so it shows the harness end to end.
"""

from __future__ import annotations

import collections
import importlib
import sys
import threading
import time
import uuid
from typing import IO, Any

from producer.testing import KafkaCluster, KafkaHarnessError, local_kafka

_CONSUME_TIMEOUT = 60.0


def _progress(total: int, desc: str, err: IO[str]) -> Any:
    tqdm = importlib.import_module("tqdm")  # untyped; imported here to keep imports cheap
    return tqdm.tqdm(total=total, desc=desc, unit="msg", file=err, mininterval=0.2,
                     dynamic_ncols=True, leave=True)


def _produce(cluster: KafkaCluster, topic: str, messages: int,
             err: IO[str]) -> tuple[collections.Counter[int], dict[str, int], float]:
    """Send ``messages`` records; return (acked per partition, errors by type, seconds)."""
    from kafka import KafkaProducer

    acked: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=1,
                             enable_idempotence=False, linger_ms=5, client_id="producer-demo")
    bar = _progress(messages, "produce", err)

    def on_ok(md: Any) -> None:  # runs on kafka-python's I/O thread
        with lock:
            acked[int(md.partition)] += 1
        bar.update(1)

    def on_err(exc: BaseException) -> None:
        with lock:
            errors[type(exc).__name__] += 1
        bar.update(1)

    t0 = time.monotonic()
    try:
        for i in range(messages):
            key = f"key-{i}".encode()
            future = producer.send(topic, key=key, value=f"message-{i}".encode())
            future.add_callback(on_ok)
            future.add_errback(on_err)
        producer.flush(timeout=120)
        elapsed = time.monotonic() - t0
    finally:
        producer.close(timeout=10)
        bar.close()
    return acked, dict(errors), elapsed


def _consume(cluster: KafkaCluster, topic: str, partitions: int, expected: int,
             err: IO[str]) -> tuple[collections.Counter[int], set[bytes], int, float]:
    """Read the topic from the start; return (per partition, values, duplicates, seconds)."""
    from kafka import KafkaConsumer, TopicPartition

    per_partition: collections.Counter[int] = collections.Counter()
    seen: set[bytes] = set()
    duplicates = 0
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             client_id="producer-demo-consumer")
    bar = _progress(expected, "consume", err)
    t0 = time.monotonic()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end_offsets = consumer.end_offsets(tps)
        deadline = t0 + _CONSUME_TIMEOUT
        while time.monotonic() < deadline:
            if all(consumer.position(tp) >= end_offsets[tp] for tp in tps):
                break
            batch = consumer.poll(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for rec in records:
                    per_partition[tp.partition] += 1
                    if rec.value in seen:
                        duplicates += 1
                    seen.add(rec.value)
                bar.update(len(records))
    finally:
        consumer.close()
        bar.close()
    return per_partition, seen, duplicates, time.monotonic() - t0


def run_demo(messages: int = 20_000, partitions: int = 3, out: IO[str] | None = None,
             err: IO[str] | None = None) -> int:
    """Run the demo; print a summary to ``out`` (stdout); return 0 if all were delivered."""
    out = out or sys.stdout
    err = err or sys.stderr
    print("starting Kafka (the first run fetches the broker jars with Maven, ~45 MB)...",
          file=err, flush=True)
    t_start = time.monotonic()
    try:
        with local_kafka() as cluster:
            t_ready = time.monotonic() - t_start
            topic = f"demo-{uuid.uuid4().hex[:8]}"
            cluster.create_topic(topic, partitions=partitions, replication_factor=1)
            print(f"broker {cluster.bootstrap_servers} ({cluster.source}) ready in "
                  f"{t_ready:.1f} s; topic {topic} with {partitions} partitions", file=err,
                  flush=True)
            acked, errors, t_prod = _produce(cluster, topic, messages, err)
            n_acked = sum(acked.values())
            consumed, seen, dups, t_cons = _consume(cluster, topic, partitions, n_acked, err)
    except KafkaHarnessError as exc:
        print(f"error: {exc}", file=err)
        return 1

    expected = {f"message-{i}".encode() for i in range(messages)}
    missing = len(expected - seen)
    n_consumed = sum(consumed.values())
    ok = n_acked == messages and missing == 0 and dups == 0 and not errors
    rate = messages / t_prod if t_prod > 0 else float("inf")
    print(f"Kafka at {cluster.bootstrap_servers} ({cluster.source}), topic {topic}", file=out)
    failed = f"{sum(errors.values())} failed" + (f" {errors}" if errors else "")
    print(f"produced: {messages} sent, {n_acked} acknowledged, {failed} in {t_prod:.2f} s "
          f"({rate:,.0f} msg/s, acks=1, idempotence off)", file=out)
    print(f"consumed: {n_consumed} in {t_cons:.2f} s, {missing} missing, {dups} duplicates",
          file=out)
    for p in range(partitions):
        print(f"  partition {p}: {acked[p]} acknowledged, {consumed[p]} consumed", file=out)
    if ok:
        print(f"RESULT: OK, all {messages} messages delivered", file=out)
    else:
        print(f"RESULT: FAILED, {messages - missing} of {messages} messages delivered", file=out)
    out.flush()
    return 0 if ok else 1
