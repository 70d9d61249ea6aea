"""Helpers for the functional tests of the Kafka harness."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path


def kafka_jvms() -> dict[int, str]:
    """pid -> command line of every running ``kafka.Kafka`` JVM on this machine."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # zombie: exited, not yet reaped
            continue
        cmd = raw.replace(b"\0", b" ").decode(errors="replace")
        if "kafka.Kafka " in cmd:
            found[int(entry.name)] = cmd
    return found


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_until_gone(pids: Iterable[int], timeout: float = 15.0) -> list[int]:
    """Wait for the processes to disappear; return those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if pid_alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if pid_alive(p)]
    return left


def produce_and_consume(bootstrap: str, topic: str, partitions: int,
                        values: list[bytes]) -> Counter[bytes]:
    """Send ``values`` (acks=1, keyed so they spread) and read the topic back from the start."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, enable_idempotence=False,
                             linger_ms=5)
    try:
        futures = [producer.send(topic, key=b"k%d" % i, value=v) for i, v in enumerate(values)]
        producer.flush(timeout=60)
        for f in futures:
            f.get(timeout=0)  # raises if the broker rejected it
    finally:
        producer.close(timeout=10)

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    got: Counter[bytes] = Counter()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 60
        while sum(got.values()) < len(values) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.update(r.value for r in records)
        # one more poll: anything beyond len(values) would be a duplicate
        for records in consumer.poll(timeout_ms=300).values():
            got.update(r.value for r in records)
    finally:
        consumer.close()
    return got
