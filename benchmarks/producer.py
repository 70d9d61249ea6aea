"""Producer throughput and latency: our AsyncProducer and SyncProducer vs raw kafka-python.

Same local broker, same run, variants interleaved (A B C A B C ...), medians of
``--reps`` repetitions. Workload: 100-byte values, no key, 3 partitions, acks=1.
Latency is per message, from the send call to its acknowledgement.

    python benchmarks/producer.py [--messages 200000] [--reps 3] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This file is named producer.py, like the package it measures: keep its own folder off
# sys.path so that `import producer` finds the package, and load _common by path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
_spec = importlib.util.spec_from_file_location("_common", HERE / "_common.py")
assert _spec is not None and _spec.loader is not None
_common = importlib.util.module_from_spec(_spec)
sys.modules["_common"] = _common
_spec.loader.exec_module(_common)
machine_info, progress = _common.machine_info, _common.progress

import kafka  # noqa: E402

from gochan import go  # noqa: E402
from producer import AsyncProducer, Config, ProducerMessage, SyncProducer  # noqa: E402

RESULTS = HERE / "results"
VALUE = b"x" * 100


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50/p99 (and friends) in milliseconds."""
    data = sorted(latencies)
    if not data:
        return {}

    def pick(q: float) -> float:
        return data[min(len(data) - 1, int(q * len(data)))] * 1000

    return {"p50": pick(0.50), "p75": pick(0.75), "p95": pick(0.95), "p99": pick(0.99),
            "p99.9": pick(0.999)}


def run_raw(bootstrap: str, topic: str, n: int, callbacks: bool) -> tuple[float, list[float]]:
    """kafka-python's KafkaProducer with sarama-equivalent settings."""
    client = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks=1, enable_idempotence=False,
                                 linger_ms=0, retries=3)
    latencies: list[float] = []
    clock = time.perf_counter
    send = client.send
    start = clock()
    if callbacks:
        record = latencies.append

        def done(sent_at: float, _metadata: Any) -> None:
            record(clock() - sent_at)

        for _ in range(n):
            send(topic, value=VALUE).add_callback(done, clock())
    else:
        for _ in range(n):
            send(topic, value=VALUE)
    client.flush()
    elapsed = clock() - start
    client.close()
    return elapsed, latencies


def run_async(bootstrap: str, topic: str, n: int) -> tuple[float, list[float]]:
    """Our AsyncProducer, successes drained by a goroutine."""
    config = Config()
    config.producer.return_successes = True
    producer = AsyncProducer(bootstrap, config)
    latencies: list[float] = []
    clock = time.perf_counter

    def drain_successes() -> None:
        record = latencies.append
        for msg in producer.successes():
            record(clock() - msg.metadata)

    def drain_errors() -> None:
        for err in producer.errors():
            print(f"error: {err}", file=sys.stderr)

    readers = [go(drain_successes), go(drain_errors)]
    send = producer.input().send
    start = clock()
    for _ in range(n):
        send(ProducerMessage(topic, value=VALUE, metadata=clock()))
    producer.async_close()
    for reader in readers:
        reader.join()
    elapsed = clock() - start
    return elapsed, latencies


def run_sync(bootstrap: str, topic: str, n: int, batch: int = 1000) -> tuple[float, list[float]]:
    """Our SyncProducer, ``send_messages`` in batches of ``batch``."""
    producer = SyncProducer(bootstrap)
    clock = time.perf_counter
    latencies: list[float] = []
    start = clock()
    for first in range(0, n, batch):
        msgs = [ProducerMessage(topic, value=VALUE) for _ in range(min(batch, n - first))]
        sent_at = clock()
        producer.send_messages(msgs)
        latencies.append(clock() - sent_at)
    elapsed = clock() - start
    producer.close()
    return elapsed, latencies


VARIANTS: dict[str, Callable[[str, str, int], tuple[float, list[float]]]] = {
    "kafka-python": lambda b, t, n: run_raw(b, t, n, callbacks=False),
    "kafka-python+callbacks": lambda b, t, n: run_raw(b, t, n, callbacks=True),
    "AsyncProducer": run_async,
    "SyncProducer(batches of 1000)": run_sync,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--bootstrap", help="use this cluster (else KAFKA_BOOTSTRAP_SERVERS, "
                        "else a local broker is started)")
    parser.add_argument("--out", type=Path, default=RESULTS / "producer.json")
    args = parser.parse_args(argv)

    from producer.testing import local_kafka

    if args.bootstrap:
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = args.bootstrap
    results: dict[str, dict[str, list[Any]]] = {
        name: {"rates": [], "latencies": []} for name in VARIANTS}
    with local_kafka() as cluster:
        bootstrap = cluster.bootstrap_servers
        for rep in range(args.reps):
            names = list(VARIANTS)
            names = names[rep % len(names):] + names[:rep % len(names)]
            for name in names:
                topic = f"bench-{name.split('(')[0].replace('+', '-')}-{rep}-{time.time_ns()}"
                cluster.create_topic(topic, partitions=args.partitions)
                progress(f"[{rep + 1}/{args.reps}] {name}: {args.messages} messages ...")
                elapsed, latencies = VARIANTS[name](bootstrap, topic, args.messages)
                rate = args.messages / elapsed
                results[name]["rates"].append(rate)
                results[name]["latencies"].extend(latencies)
                progress(f"[{rep + 1}/{args.reps}] {name}: {rate:,.0f} msg/s")

    base = statistics.median(results["kafka-python"]["rates"])
    table = []
    print(f"\n{'variant':32} {'msg/s':>10} {'MiB/s':>7} {'vs kafka-python':>16} "
          f"{'p50 ms':>8} {'p99 ms':>8}")
    for name, data in results.items():
        rate = statistics.median(data["rates"])
        pct = percentiles(data["latencies"])
        row = {"variant": name, "msg_per_s": rate, "mib_per_s": rate * len(VALUE) / 2**20,
               "ratio_vs_kafka_python": rate / base, "rates": data["rates"], **pct}
        table.append(row)
        print(f"{name:32} {rate:10,.0f} {row['mib_per_s']:7.2f} {rate / base:15.2f}x "
              f"{pct.get('p50', float('nan')):8.1f} {pct.get('p99', float('nan')):8.1f}")
    ratio = next(r["ratio_vs_kafka_python"] for r in table if r["variant"] == "AsyncProducer")
    verdict = "PASS" if ratio >= 0.9 else "FAIL"
    print(f"\ntarget AsyncProducer >= 0.9x kafka-python: {ratio:.2f}x {verdict}")
    print("(SyncProducer latency is per batch of 1000.)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "workload": {"messages": args.messages, "value_bytes": len(VALUE),
                     "partitions": args.partitions, "acks": 1, "reps": args.reps},
        "machine": machine_info(HERE.parent),
        "results": table,
    }, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
