"""Our producer against its peers on one local broker, in one run; then a scaling sweep.

    .venv/bin/python benchmarks/peers.py                 # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/peers.py --quick         # smoke run: tiny loads, 1 rep
    .venv/bin/python benchmarks/peers.py --what peers --messages 500000 --reps 5
    .venv/bin/python benchmarks/peers.py --what latency --throughput 5000 --duration 30
    .venv/bin/python benchmarks/peers.py --skip sarama,confluent-kafka

Peers (same workload: ``--messages`` values of ``--size`` bytes, no key, a fresh topic
of ``--partitions`` partitions per measurement, acks=1, no linger, no idempotence,
5 requests in flight per connection, 3 retries; everything else each client's default):

- ``AsyncProducer``: ours, ``return_successes`` on, successes and errors drained by
  goroutines; latency per message, from ``input().send`` to receipt on
  ``successes()`` (the send time rides in ``ProducerMessage.metadata``);
- ``AsyncProducer-pure``: the same on gochan's pure-Python build (``GOCHAN_PURE=1``),
  where ``AsyncProducer`` runs its compiled build (skipped where none is installed);
- ``SyncProducer``: ours, ``send_messages`` in batches of 1,000; latency per batch;
- ``AsyncProducer-noaccel``: ``AsyncProducer`` with ``PRODUCER_NO_ACCELERATOR=1``
  (kafka-python's pure-Python record builder, the fallback without the ``accel`` extra);
- ``kafka-python``: a raw ``KafkaProducer``, ``send()`` in a loop, a callback per
  future for latency, then ``flush()``;
- ``confluent-kafka``: librdkafka's ``Producer``, ``produce()`` with a per-message
  delivery callback, ``poll(0)`` after each (``BufferError`` -> ``poll``), ``flush()``;
- ``sarama``: the Go program in ``sarama_perf/`` (sarama's AsyncProducer, defaults,
  Return.Successes drained, latency per message), built with ``go build`` into
  ``benchmarks/bin/``.

Each measurement is a fresh process (a clean interpreter for every Python peer) that
first sends ``--warmup`` messages and waits for them (connections and metadata are
then ready), then times ``--messages``: from the first send to the last
acknowledgement. Repetitions rotate the order (A B C, B C A, ...); a figure is the
median over repetitions, a ratio the median of per-repetition ratios to
``AsyncProducer``. The 1-minute load average is sampled before every measurement.

The scaling sweep measures ``AsyncProducer`` (and raw kafka-python, for reference)
against message size (10 B to 100 KB, a fixed byte budget: fewer messages for big
sizes) and partition count (1, 4, 16, 64).

The latency run sends ``--throughput`` messages per second (default 5,000) for
``--duration`` seconds (default 30) through each peer but ``SyncProducer``, paced the
same way everywhere (sleep when more than 1 ms ahead of the schedule), and reports
p50/p99 side by side: latency below every peer's maximum rate.

Python peers also report their CPU per message by thread (``/proc/self/task``), and
ours whether the compiled record builder wrote its batches (``accelerated``).

Results: ``results/peers.json`` + ``peers.png``, ``results/latency.json`` +
``latency.png``, ``results/scaling.json`` + ``scaling.png``. Progress lines on stderr;
tables on stdout.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Keep this folder off sys.path: benchmarks/producer.py would shadow the producer package.
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))
_spec = importlib.util.spec_from_file_location("_common", HERE / "_common.py")
assert _spec is not None and _spec.loader is not None
_common = importlib.util.module_from_spec(_spec)
sys.modules["_common"] = _common
_spec.loader.exec_module(_common)
machine_info, progress, write_json = _common.machine_info, _common.progress, _common.write_json

from producer._perf import percentiles  # noqa: E402

RESULTS = HERE / "results"
BIN = HERE / "bin"
SARAMA_SRC = HERE / "sarama_perf"
PEERS = ["AsyncProducer", "AsyncProducer-pure", "SyncProducer", "AsyncProducer-noaccel",
         "kafka-python", "confluent-kafka", "sarama"]
# Our peer again with the compiled record builder switched off (the fallback).
NO_ACCEL = {"AsyncProducer-noaccel": "AsyncProducer"}
BASE = "AsyncProducer"
SYNC_BATCH = 1000
SIZES = [10, 100, 1_000, 10_000, 100_000]
PARTITION_COUNTS = [1, 4, 16, 64]
WORKER_TIMEOUT = 600.0


# -- the workers: one measurement each, in its own process; JSON on stdout -------------

def _result(n: int, size: int, elapsed: float, cpu: float, latencies: list[float], failed: int,
            unit: str = "message") -> dict[str, Any]:
    """``cpu``: seconds of CPU the whole process (every thread) used while timed."""
    return {"messages": n, "size": size, "succeeded": n - failed, "failed": failed,
            "elapsed_s": elapsed, "msg_per_s": n / elapsed, "mib_per_s": n * size / elapsed / 2**20,
            "cpu_us_per_msg": cpu / n * 1e6, "latency_ms": percentiles(latencies),
            "latency_per": unit}


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread name
    (Python's name where it has one, with numbers dropped; else the OS name), from
    /proc/self/task/*/stat (clock ticks: 10 ms resolution on most systems)."""
    import re
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # ended meanwhile
            continue
        comm, rest = stat.split(" (", 1)[1].rsplit(") ", 1)
        fields = rest.split()
        name = names.get(int(tid)) or comm
        name = re.sub(r"^goroutine-\d+ ", "", name)
        name = re.sub(r"\d+", "N", name)
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _per_thread(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """µs of CPU per message for each thread group (threads that ended are missing)."""
    return {name: (cpu - before.get(name, 0.0)) / n * 1e6 for name, cpu in
            sorted(after.items(), key=lambda kv: -(kv[1] - before.get(kv[0], 0.0)))
            if cpu - before.get(name, 0.0) > 0}


def _pace(start: float, i: int, rate: float) -> None:
    """Fixed-rate runs: item ``i`` leaves no earlier than ``i / rate`` s after
    ``start``; sleep only when more than 1 ms ahead (the sarama peer does the same)."""
    ahead = start + i / rate - time.perf_counter()
    if ahead > 0.001:
        time.sleep(ahead)


def _versions() -> dict[str, Any]:
    import kafka

    return {"client": "kafka-python", "version": kafka.__version__}


def work_async(bootstrap: str, topic: str, n: int, size: int, warmup: int,
               rate: float = 0.0) -> dict[str, Any]:
    import itertools
    import threading

    from gochan import go
    from producer import AsyncProducer, Config, ProducerMessage

    config = Config()
    config.producer.return_successes = True
    producer = AsyncProducer(bootstrap, config)
    clock = time.perf_counter
    value = b"x" * size
    latencies: list[float] = []
    state = {"target": warmup, "last": 0.0, "failed": 0}
    tick = itertools.count(1).__next__  # atomic: both readers count results
    reached = threading.Event()

    def drain_successes() -> None:
        record = latencies.append
        for msg in producer.successes():
            now = clock()
            record(now - msg.metadata)
            state["last"] = now
            if tick() == state["target"]:
                reached.set()

    def drain_errors() -> None:
        for err in producer.errors():
            print(f"error: {err}", file=sys.stderr)
            state["failed"] += 1
            if tick() == state["target"]:
                reached.set()

    readers = [go(drain_successes), go(drain_errors)]
    send = producer.input().send
    for _ in range(warmup):
        send(ProducerMessage(topic, value=value, metadata=clock()))
    if warmup:
        reached.wait()
        reached.clear()
    latencies.clear()
    state["failed"] = 0
    state["target"] = warmup + n
    threads0 = _thread_cpu()
    cpu0 = time.process_time()
    start = clock()
    if rate:
        for i in range(n):
            _pace(start, i, rate)
            send(ProducerMessage(topic, value=value, metadata=clock()))
    else:
        for _ in range(n):
            send(ProducerMessage(topic, value=value, metadata=clock()))
    reached.wait()
    elapsed = state["last"] - start
    cpu = time.process_time() - cpu0
    threads = _per_thread(threads0, _thread_cpu(), n)
    producer.async_close()
    for reader in readers:
        reader.join()
    return _result(n, size, elapsed, cpu, latencies, state["failed"]) | _versions() | {
        "threads_cpu_us_per_msg": threads, "accelerated": _accelerated()}


def work_sync(bootstrap: str, topic: str, n: int, size: int, warmup: int,
              rate: float = 0.0) -> dict[str, Any]:
    from producer import ProducerMessage, SyncProducer

    producer = SyncProducer(bootstrap)
    clock = time.perf_counter
    value = b"x" * size
    if warmup:
        producer.send_messages([ProducerMessage(topic, value=value) for _ in range(warmup)])
    latencies: list[float] = []
    threads0 = _thread_cpu()
    cpu0 = time.process_time()
    start = clock()
    for first in range(0, n, SYNC_BATCH):
        msgs = [ProducerMessage(topic, value=value) for _ in range(min(SYNC_BATCH, n - first))]
        if rate:
            _pace(start, first, rate)
        sent_at = clock()
        producer.send_messages(msgs)
        latencies.append(clock() - sent_at)
    elapsed = clock() - start
    cpu = time.process_time() - cpu0
    threads = _per_thread(threads0, _thread_cpu(), n)
    producer.close()
    return _result(n, size, elapsed, cpu, latencies, 0,
                   unit=f"batch of {SYNC_BATCH}") | _versions() | {
        "threads_cpu_us_per_msg": threads, "accelerated": _accelerated()}


def _accelerated() -> bool | None:
    """Whether our producer wrote its batches with the compiled record builder (None:
    a version of the producer without one)."""
    try:
        from producer._kafka import fast_builder
    except ImportError:
        return None
    return fast_builder() is not None


def work_kafka_python(bootstrap: str, topic: str, n: int, size: int,
                      warmup: int, rate: float = 0.0) -> dict[str, Any]:
    import kafka

    client = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0, retries=3,
                                 enable_idempotence=False, max_in_flight_requests_per_connection=5)
    clock = time.perf_counter
    value = b"x" * size
    send = client.send
    for _ in range(warmup):
        send(topic, value=value)
    client.flush()
    latencies: list[float] = []
    record = latencies.append
    last = [0.0]
    failed = [0]

    def done(sent_at: float, _metadata: Any) -> None:
        now = clock()
        record(now - sent_at)
        last[0] = now

    def fail(exc: BaseException) -> None:
        failed[0] += 1
        print(f"error: {exc}", file=sys.stderr)

    threads0 = _thread_cpu()
    cpu0 = time.process_time()
    start = clock()
    if rate:
        for i in range(n):
            _pace(start, i, rate)
            send(topic, value=value).add_callback(done, clock()).add_errback(fail)
    else:
        for _ in range(n):
            send(topic, value=value).add_callback(done, clock()).add_errback(fail)
    client.flush()
    elapsed = (last[0] or clock()) - start
    cpu = time.process_time() - cpu0
    threads = _per_thread(threads0, _thread_cpu(), n)
    client.close()
    return _result(n, size, elapsed, cpu, latencies, failed[0]) | _versions() | {
        "threads_cpu_us_per_msg": threads}


def work_confluent(bootstrap: str, topic: str, n: int, size: int, warmup: int,
                   rate: float = 0.0) -> dict[str, Any]:
    import confluent_kafka

    client = confluent_kafka.Producer({
        "bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 0, "retries": 3,
        "enable.idempotence": False, "max.in.flight.requests.per.connection": 5})
    clock = time.perf_counter
    value = b"x" * size
    produce, poll = client.produce, client.poll
    for _ in range(warmup):
        produce(topic, value)
        poll(0)
    client.flush(60)
    latencies: list[float] = []
    record = latencies.append
    last = [0.0]
    failed = [0]

    def delivered(sent_at: float, err: Any, _msg: Any) -> None:
        now = clock()
        if err is not None:
            failed[0] += 1
            print(f"error: {err}", file=sys.stderr)
            return
        record(now - sent_at)
        last[0] = now

    threads0 = _thread_cpu()
    cpu0 = time.process_time()
    start = clock()
    for i in range(n):
        if rate:
            _pace(start, i, rate)
        while True:
            try:
                produce(topic, value, on_delivery=functools.partial(delivered, clock()))
                break
            except BufferError:  # librdkafka's queue is full: serve delivery reports
                poll(0.01)
        poll(0)
    left = client.flush(120)
    elapsed = (last[0] or clock()) - start
    cpu = time.process_time() - cpu0  # librdkafka's threads included
    threads = _per_thread(threads0, _thread_cpu(), n)
    if left:
        raise RuntimeError(f"confluent-kafka: {left} messages still queued after flush()")
    return _result(n, size, elapsed, cpu, latencies, failed[0]) | {
        "client": "confluent-kafka", "version": getattr(confluent_kafka, "__version__", "?"),
        "librdkafka": confluent_kafka.libversion()[0], "threads_cpu_us_per_msg": threads}


WORKERS: dict[str, Callable[[str, str, int, int, int, float], dict[str, Any]]] = {
    "AsyncProducer": work_async,
    "AsyncProducer-pure": work_async,  # run with GOCHAN_PURE=1 (see measure)
    "SyncProducer": work_sync,
    "kafka-python": work_kafka_python,
    "confluent-kafka": work_confluent,
}


# -- the driver -----------------------------------------------------------------------

def build_sarama() -> Path:
    """``go build`` the sarama contender into benchmarks/bin/ (ignored by git)."""
    go = shutil.which("go")
    if go is None:
        raise FileNotFoundError("go is not on PATH")
    BIN.mkdir(parents=True, exist_ok=True)
    exe = BIN / "sarama_perf"
    progress(f"building {exe.relative_to(REPO)} (go build) ...")
    subprocess.run([go, "build", "-o", str(exe), "."], cwd=SARAMA_SRC, check=True,
                   timeout=600)
    return exe


def available(peers: Sequence[str]) -> tuple[list[str], dict[str, str], Path | None]:
    """The peers that can run here, why the others cannot, the sarama binary."""
    ok: list[str] = []
    missing: dict[str, str] = {}
    sarama: Path | None = None
    for peer in peers:
        if peer == "AsyncProducer-pure" and gochan_build({}) != "compiled":
            missing[peer] = "no compiled gochan installed: AsyncProducer runs the pure build"
            continue
        if peer == "confluent-kafka" and importlib.util.find_spec("confluent_kafka") is None:
            missing[peer] = "confluent-kafka is not installed (pip install -e '.[bench]')"
            continue
        if peer == "sarama":
            try:
                sarama = build_sarama()
            except (OSError, subprocess.SubprocessError) as exc:
                missing[peer] = f"cannot build benchmarks/sarama_perf: {exc}"
                continue
        ok.append(peer)
    for peer, why in missing.items():
        progress(f"skipping {peer}: {why}")
    return ok, missing, sarama


def gochan_build(env: dict[str, str]) -> str:
    """The gochan build a child process with ``env`` added to ours would run."""
    out = subprocess.run(
        [sys.executable, "-c", "import gochan; print(gochan.build_info()['build'])"],
        capture_output=True, text=True, check=True, env={**os.environ, **env})
    return out.stdout.strip()


def measure(peer: str, bootstrap: str, topic: str, n: int, size: int, warmup: int,
            sarama: Path | None, rate: float = 0.0) -> dict[str, Any]:
    """One measurement in a fresh process; its JSON result."""
    if peer == "sarama":
        assert sarama is not None
        cmd = [str(sarama), "-brokers", bootstrap, "-topic", topic, "-messages", str(n),
               "-size", str(size), "-warmup", str(warmup), "-acks", "1",
               "-throughput", str(rate)]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", NO_ACCEL.get(peer, peer),
               "--bootstrap", bootstrap, "--topic", topic, "--messages", str(n),
               "--size", str(size), "--warmup", str(warmup), "--rate", str(rate)]
    env = {k: v for k, v in os.environ.items() if k != "GOCHAN_PURE"}
    if peer == "AsyncProducer-pure":
        env["GOCHAN_PURE"] = "1"
    if peer in NO_ACCEL:
        env["PRODUCER_NO_ACCELERATOR"] = "1"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=WORKER_TIMEOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{peer} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result.get("failed"):
        raise RuntimeError(f"{peer}: {result['failed']} messages failed")
    return result


def load1() -> float:
    return os.getloadavg()[0]


class Runner:
    """Runs measurements on one cluster, each on a fresh topic, sampling the load."""

    def __init__(self, cluster: Any, sarama: Path | None, warmup: int) -> None:
        self.cluster = cluster
        self.sarama = sarama
        self.warmup = warmup
        self.loads: list[float] = []

    def run(self, peer: str, n: int, size: int, partitions: int, label: str,
            rate: float = 0.0) -> dict[str, Any]:
        topic = f"peers-{peer.lower().replace('-', '')}-{uuid.uuid4().hex[:8]}"
        self.cluster.create_topic(topic, partitions=partitions)
        load = load1()
        self.loads.append(load)
        progress(f"{label} {peer}: {n:,} x {size} B, {partitions} partitions (load {load:.2f}) ...")
        try:
            result = measure(peer, self.cluster.bootstrap_servers, topic, n, size,
                             min(self.warmup, n), self.sarama, rate)
        finally:
            try:
                self.cluster.delete_topic(topic)
            except Exception as exc:  # a leftover topic only costs disk
                progress(f"  (could not delete {topic}: {exc})")
        result["load1_before"] = load
        lat = result["latency_ms"]
        progress(f"{label} {peer}: {result['msg_per_s']:,.0f} msg/s, "
                 f"{result['mib_per_s']:.2f} MiB/s, p50 {lat.get('p50', 0):.1f} ms, "
                 f"p99 {lat.get('p99', 0):.1f} ms, CPU {result['cpu_us_per_msg']:.1f} us/msg")
        return result


def rotated(items: list[str], rep: int) -> list[str]:
    k = rep % len(items)
    return items[k:] + items[:k]


def median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def run_peers(runner: Runner, peers: list[str], args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
    for rep in range(args.reps):
        for peer in rotated(peers, rep):
            runs[peer].append(runner.run(peer, args.messages, args.size, args.partitions,
                                         f"[peers {rep + 1}/{args.reps}]"))
    rows = []
    base = runs.get(BASE)
    for peer in peers:
        rates = [r["msg_per_s"] for r in runs[peer]]
        p50 = [r["latency_ms"]["p50"] for r in runs[peer]]
        p99 = [r["latency_ms"]["p99"] for r in runs[peer]]
        row: dict[str, Any] = {
            "peer": peer,
            "msg_per_s": statistics.median(rates),
            "mib_per_s": statistics.median(r["mib_per_s"] for r in runs[peer]),
            "p50_ms": statistics.median(p50),
            "p99_ms": statistics.median(p99),
            "cpu_us_per_msg": statistics.median(r["cpu_us_per_msg"] for r in runs[peer]),
            "latency_per": runs[peer][0]["latency_per"],
            "rates": rates, "p50s_ms": p50, "p99s_ms": p99,
            "extra": {k: v for k, v in runs[peer][0].items()
                      if k in ("client", "version", "librdkafka", "go_version", "gomaxprocs",
                               "accelerated")},
            "threads_cpu_us_per_msg": _median_threads(runs[peer]),
        }
        if base is not None:
            row["ratio_vs_async"] = median_ratio(rates, [r["msg_per_s"] for r in base])
            row["p50_ratio_vs_async"] = median_ratio(p50, [r["latency_ms"]["p50"] for r in base])
            row["p99_ratio_vs_async"] = median_ratio(p99, [r["latency_ms"]["p99"] for r in base])
        rows.append(row)
    return {"rows": rows, "runs": runs}


def _median_threads(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median over repetitions of each thread group's µs per message (0 where absent)."""
    names = {name for r in runs for name in r.get("threads_cpu_us_per_msg", {})}
    med = {name: statistics.median(r.get("threads_cpu_us_per_msg", {}).get(name, 0.0)
                                   for r in runs) for name in names}
    return dict(sorted(med.items(), key=lambda kv: -kv[1]))


def print_threads(rows: list[dict[str, Any]]) -> None:
    print("CPU per message by thread (µs, median over repetitions; /proc/self/task, "
          "10 ms ticks; threads under 0.05 µs left out)")
    for r in rows:
        threads = r.get("threads_cpu_us_per_msg") or {}
        if threads:
            shown = ", ".join(f"{name} {us:.2f}" for name, us in threads.items() if us >= 0.05)
            print(f"  {r['peer']:16} {shown}")


def print_peers(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\npeers: {args.messages:,} messages x {args.size} B, {args.partitions} partitions, "
          f"acks=1, median of {args.reps} rep(s); ratios are to {BASE} (median of per-rep ratios); "
          "CPU: the client process, all its threads (the broker's excluded)")
    print(f"{'peer':16} {'msg/s':>10} {'MiB/s':>7} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p50 ratio':>9} {'p99 ratio':>9} {'CPU us/msg':>10}")
    for r in rows:
        note = "  (latency per batch of 1000)" if r["latency_per"] != "message" else ""
        print(f"{r['peer']:16} {r['msg_per_s']:10,.0f} {r['mib_per_s']:7.2f} "
              f"{r.get('ratio_vs_async', float('nan')):6.2f}x {r['p50_ms']:8.1f} "
              f"{r['p99_ms']:8.1f} {r.get('p50_ratio_vs_async', float('nan')):8.2f}x "
              f"{r.get('p99_ratio_vs_async', float('nan')):8.2f}x "
              f"{r['cpu_us_per_msg']:10.1f}{note}")
    print_threads(rows)


def run_latency(runner: Runner, peers: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Each peer at ``--throughput`` messages/s for ``--duration`` s: latency at a
    fixed rate, below every peer's maximum."""
    n = int(args.throughput * args.duration)
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
    for rep in range(args.latency_reps):
        for peer in rotated(peers, rep):
            runs[peer].append(runner.run(peer, n, args.size, args.partitions,
                                         f"[latency {rep + 1}/{args.latency_reps}]",
                                         rate=args.throughput))
    rows = []
    for peer in peers:
        rs = runs[peer]
        rows.append({
            "peer": peer, "messages": n, "rate": args.throughput,
            "msg_per_s": statistics.median(r["msg_per_s"] for r in rs),
            "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in rs),
            "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in rs),
            "p999_ms": statistics.median(r["latency_ms"].get("p99.9", 0.0) for r in rs),
            "cpu_us_per_msg": statistics.median(r["cpu_us_per_msg"] for r in rs),
            "p50s_ms": [r["latency_ms"]["p50"] for r in rs],
            "p99s_ms": [r["latency_ms"]["p99"] for r in rs],
            "latency_per": rs[0]["latency_per"],
            "threads_cpu_us_per_msg": _median_threads(rs),
        })
    return {"rows": rows, "runs": runs}


def print_latency(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nlatency at a fixed rate: {args.throughput:g} msg/s for {args.duration:g} s "
          f"({int(args.throughput * args.duration):,} x {args.size} B), {args.partitions} "
          f"partitions, acks=1, median of {args.latency_reps} rep(s)")
    print(f"{'peer':16} {'msg/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} "
          f"{'CPU us/msg':>10}")
    for r in rows:
        print(f"{r['peer']:16} {r['msg_per_s']:10,.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['p999_ms']:9.2f} {r['cpu_us_per_msg']:10.1f}")


def run_scaling(runner: Runner, args: argparse.Namespace) -> dict[str, Any]:
    peers = args.scaling_peers
    by_size: list[dict[str, Any]] = []
    by_partitions: list[dict[str, Any]] = []
    budget = int(args.scaling_budget_mib * 2**20)
    size_runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    part_runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for rep in range(args.scaling_reps):
        label = f"[scaling {rep + 1}/{args.scaling_reps}]"
        for size in SIZES:
            n = max(1, min(args.scaling_messages, budget // size))
            for peer in rotated(peers, rep):
                size_runs.setdefault((size, peer), []).append(
                    runner.run(peer, n, size, args.partitions, label))
        for parts in PARTITION_COUNTS:
            for peer in rotated(peers, rep):
                part_runs.setdefault((parts, peer), []).append(
                    runner.run(peer, args.scaling_messages, args.size, parts, label))

    def row(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"messages": runs[0]["messages"],
                "msg_per_s": statistics.median(r["msg_per_s"] for r in runs),
                "mib_per_s": statistics.median(r["mib_per_s"] for r in runs),
                "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in runs),
                "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in runs),
                "rates": [r["msg_per_s"] for r in runs]}

    for (size, peer), runs in size_runs.items():
        by_size.append({"peer": peer, "size": size, "partitions": args.partitions, **row(runs)})
    for (parts, peer), runs in part_runs.items():
        by_partitions.append({"peer": peer, "partitions": parts, "size": args.size, **row(runs)})
    return {"by_size": by_size, "by_partitions": by_partitions}


def print_scaling(data: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nscaling: median of {args.scaling_reps} rep(s); size sweep on {args.partitions} "
          f"partitions, budget {args.scaling_budget_mib:g} MiB, at most "
          f"{args.scaling_messages:,} messages; partition sweep with {args.size} B values")
    print(f"{'peer':14} {'size B':>7} {'messages':>9} {'msg/s':>10} {'MiB/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8}")
    for r in data["by_size"]:
        print(f"{r['peer']:14} {r['size']:7} {r['messages']:9,} {r['msg_per_s']:10,.0f} "
              f"{r['mib_per_s']:8.2f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}")
    print(f"{'peer':14} {'parts':>7} {'messages':>9} {'msg/s':>10} {'MiB/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8}")
    for r in data["by_partitions"]:
        print(f"{r['peer']:14} {r['partitions']:7} {r['messages']:9,} {r['msg_per_s']:10,.0f} "
              f"{r['mib_per_s']:8.2f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}")


def _savefig(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)


def plot_peers(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["peers"]
    names = [r["peer"] for r in rows]
    xs = range(len(rows))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = ["#1f77b4" if n in (BASE, "AsyncProducer-pure", "SyncProducer", *NO_ACCEL)
              else "#888888" for n in names]
    ax1.bar(xs, [r["msg_per_s"] for r in rows], color=colors)
    for i, r in enumerate(rows):
        ax1.plot([i] * len(r["rates"]), r["rates"], "k.", ms=4)
        ratio = r.get("ratio_vs_async")
        label = f"{r['msg_per_s']:,.0f}" + (f"\n{ratio:.2f}x" if ratio is not None else "")
        ax1.annotate(label, (i, max(r["rates"])), ha="center", va="bottom", fontsize=8)
    ax1.set_xticks(list(xs), names, rotation=20)
    ax1.set_ylabel("messages/s (dots: repetitions)")
    ax1.margins(y=0.15)
    ax1.set_title("throughput")
    width = 0.4
    ax2.bar([x - width / 2 for x in xs], [r["p50_ms"] for r in rows], width, label="p50")
    ax2.bar([x + width / 2 for x in xs], [r["p99_ms"] for r in rows], width, label="p99")
    ax2.set_yscale("log")
    ax2.set_xticks(list(xs), [n + ("\n(per batch)" if r["latency_per"] != "message" else "")
                              for n, r in zip(names, rows, strict=True)], rotation=20)
    ax2.set_ylabel("ms, send to acknowledgement (log)")
    ax2.set_title("latency per message")
    ax2.legend()
    w = data["workload"]
    load = data["load1_during_run"]
    fig.suptitle(f"{w['messages']:,} x {w['value_bytes']} B, {w['partitions']} partitions, "
                 f"acks=1, median of {w['reps']}; load {load['min']:.1f}-{load['max']:.1f}, "
                 f"{data['machine']['cpus_usable']} CPUs", fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def plot_latency(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["latency"]
    names = [r["peer"] for r in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.8))
    width = 0.4
    ax.bar([x - width / 2 for x in xs], [r["p50_ms"] for r in rows], width, label="p50")
    ax.bar([x + width / 2 for x in xs], [r["p99_ms"] for r in rows], width, label="p99")
    for i, r in enumerate(rows):
        ax.plot([i - width / 2] * len(r["p50s_ms"]), r["p50s_ms"], "k.", ms=4)
        ax.plot([i + width / 2] * len(r["p99s_ms"]), r["p99s_ms"], "k.", ms=4)
        ax.annotate(f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}", (i, r["p99_ms"]), ha="center",
                    va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(list(xs), names, rotation=20)
    ax.set_ylabel("ms, send to acknowledgement (log; dots: repetitions)")
    ax.set_title(f"latency per message at {data['workload']['rate']:g} msg/s")
    ax.legend()
    w, load = data["workload"], data["load1_during_run"]
    fig.suptitle(f"{w['messages']:,} x {w['value_bytes']} B in {w['duration_s']:g} s, "
                 f"{w['partitions']} partitions, acks=1, median of {w['reps']}; "
                 f"load {load['min']:.1f}-{load['max']:.1f}, "
                 f"{data['machine']['cpus_usable']} CPUs", fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def plot_scaling(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6))
    peers = sorted({r["peer"] for r in data["by_size"]}, key=PEERS.index)
    for peer in peers:
        rows = sorted((r for r in data["by_size"] if r["peer"] == peer), key=lambda r: r["size"])
        ax1.plot([r["size"] for r in rows], [r["mib_per_s"] for r in rows], "o-", label=peer)
        ax2.plot([r["size"] for r in rows], [r["msg_per_s"] for r in rows], "o-", label=peer)
        rows = sorted((r for r in data["by_partitions"] if r["peer"] == peer),
                      key=lambda r: r["partitions"])
        ax3.plot([r["partitions"] for r in rows], [r["msg_per_s"] for r in rows], "o-",
                 label=peer)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("value size, bytes")
    ax1.set_yscale("log")
    ax1.set_ylabel("MiB/s")
    ax1.set_title("throughput vs message size (MiB/s)")
    ax2.set_yscale("log")
    ax2.set_ylabel("messages/s")
    ax2.set_title("throughput vs message size (msg/s)")
    ax3.set_xscale("log", base=2)
    ax3.set_xticks(PARTITION_COUNTS, [str(p) for p in PARTITION_COUNTS])
    ax3.set_xlabel("partitions")
    ax3.set_ylabel("messages/s")
    ax3.set_ylim(bottom=0)
    ax3.set_title(f"throughput vs partitions ({data['workload']['size']} B values)")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, alpha=0.3)
        ax.legend()
    w, load = data["workload"], data["load1_during_run"]
    fig.suptitle(f"acks=1, median of {w['reps']}; size sweep on {w['partitions']} partitions, "
                 f"{w['budget_mib']:g} MiB or at most {w['max_messages']:,} messages per point; "
                 f"load {load['min']:.1f}-{load['max']:.1f}, "
                 f"{data['machine']['cpus_usable']} CPUs", fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def load_summary(loads: list[float]) -> dict[str, float]:
    if not loads:
        return {"min": float("nan"), "median": float("nan"), "max": float("nan")}
    return {"min": min(loads), "median": statistics.median(loads), "max": max(loads)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=None, help="per measurement (default 200000)")
    p.add_argument("--size", type=int, default=100, help="value bytes (default 100)")
    p.add_argument("--partitions", type=int, default=3, help="(default 3)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3)")
    p.add_argument("--warmup", type=int, default=None,
                   help="messages sent and acknowledged before the clock starts (default 2000)")
    p.add_argument("--what", default="peers,latency,scaling",
                   help="any of peers, latency, scaling (default: all three)")
    p.add_argument("--throughput", type=float, default=5000.0,
                   help="latency run: messages per second per peer (default 5000)")
    p.add_argument("--duration", type=float, default=None,
                   help="latency run: seconds per measurement (default 30)")
    p.add_argument("--latency-reps", type=int, default=None, help="(default 3)")
    p.add_argument("--latency-skip",
                   default="SyncProducer,AsyncProducer-pure,AsyncProducer-noaccel",
                   help="peers left out of the latency run (default: SyncProducer and our "
                   "two variants)")
    p.add_argument("--skip", default="", help="comma-separated peers to leave out")
    p.add_argument("--scaling-peers", default=None,
                   help="peers in the scaling sweep (default AsyncProducer,kafka-python)")
    p.add_argument("--scaling-messages", type=int, default=None,
                   help="messages per scaling point, at most (default 50000)")
    p.add_argument("--scaling-budget-mib", type=float, default=None,
                   help="bytes per size point: fewer messages for big sizes (default 64 MiB)")
    p.add_argument("--scaling-reps", type=int, default=None, help="(default --reps)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2000 messages, 1 rep, tiny scaling sweep of AsyncProducer")
    p.add_argument("--bootstrap", help="use this cluster (else KAFKA_BOOTSTRAP_SERVERS, else a "
                   "local broker is started)")
    p.add_argument("--out-dir", type=Path, default=RESULTS, help="where JSON and PNGs go")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--topic", help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick

    def pick(value: Any, normal: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if quick else normal)

    args.messages = pick(args.messages, 200_000, 2_000)
    args.reps = pick(args.reps, 3, 1)
    args.warmup = pick(args.warmup, 2_000, 200)
    args.scaling_messages = pick(args.scaling_messages, 50_000, 1_000)
    args.scaling_budget_mib = pick(args.scaling_budget_mib, 64.0, 1.0)
    args.scaling_reps = pick(args.scaling_reps, args.reps, 1)
    args.scaling_peers = pick(args.scaling_peers, "AsyncProducer,kafka-python", "AsyncProducer")
    args.duration = pick(args.duration, 30.0, 1.0)
    args.latency_reps = pick(args.latency_reps, 3, 1)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker](args.bootstrap, args.topic, args.messages, args.size,
                                      args.warmup, args.rate)
        import gochan

        result["gochan"] = gochan.build_info()
        print(json.dumps(result))
        return 0

    what = {w.strip() for w in args.what.split(",") if w.strip()}
    if not what or what - {"peers", "latency", "scaling"}:
        print(f"--what: peers, latency and/or scaling, not {args.what!r}", file=sys.stderr)
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(PEERS):
        print(f"--skip: unknown peers {sorted(skip - set(PEERS))}; know {PEERS}", file=sys.stderr)
        return 2
    latency_skip = {s.strip() for s in args.latency_skip.split(",") if s.strip()}
    wanted = [p for p in PEERS if p not in skip] if what & {"peers", "latency"} else []
    args.scaling_peers = [p.strip() for p in args.scaling_peers.split(",") if p.strip()]
    if set(args.scaling_peers) - set(WORKERS):
        print(f"--scaling-peers: one of {sorted(WORKERS)}", file=sys.stderr)
        return 2
    peers, missing, sarama = available(wanted)

    from producer.testing import local_kafka

    if args.bootstrap:
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = args.bootstrap
    machine = machine_info(REPO)
    workload = {"messages": args.messages, "value_bytes": args.size,
                "partitions": args.partitions, "acks": 1, "reps": args.reps,
                "warmup": args.warmup, "quick": args.quick}
    with local_kafka() as cluster:
        progress(f"broker {cluster.bootstrap_servers} ({cluster.source})")
        runner = Runner(cluster, sarama, args.warmup)
        if "peers" in what:
            t0 = time.monotonic()
            peer_data = run_peers(runner, peers, args)
            print_peers(peer_data["rows"], args)
            loads = load_summary(runner.loads)
            print(f"load average (1 min) before each measurement: min {loads['min']:.2f}, "
                  f"median {loads['median']:.2f}, max {loads['max']:.2f}; "
                  f"{time.monotonic() - t0:.0f} s")
            doc = {"benchmark": "peers", "workload": workload, "machine": machine,
                   "load1_during_run": loads, "skipped": missing,
                   "peers": peer_data["rows"], "runs": peer_data["runs"]}
            write_json(args.out_dir / "peers.json", doc)
            progress(f"wrote {args.out_dir / 'peers.json'}")
            if not args.no_plot:
                plot_peers(doc, args.out_dir / "peers.png")
                progress(f"wrote {args.out_dir / 'peers.png'}")
        if "latency" in what:
            runner.loads = []
            t0 = time.monotonic()
            lat = run_latency(runner, [p for p in peers if p not in latency_skip], args)
            print_latency(lat["rows"], args)
            loads = load_summary(runner.loads)
            print(f"load average (1 min) before each measurement: min {loads['min']:.2f}, "
                  f"median {loads['median']:.2f}, max {loads['max']:.2f}; "
                  f"{time.monotonic() - t0:.0f} s")
            doc = {"benchmark": "latency", "workload": {
                       "rate": args.throughput, "duration_s": args.duration,
                       "messages": int(args.throughput * args.duration),
                       "value_bytes": args.size, "partitions": args.partitions, "acks": 1,
                       "reps": args.latency_reps, "warmup": args.warmup, "quick": args.quick},
                   "machine": machine, "load1_during_run": loads, "skipped": missing,
                   "latency": lat["rows"], "runs": lat["runs"]}
            write_json(args.out_dir / "latency.json", doc)
            progress(f"wrote {args.out_dir / 'latency.json'}")
            if not args.no_plot:
                plot_latency(doc, args.out_dir / "latency.png")
                progress(f"wrote {args.out_dir / 'latency.png'}")
        if "scaling" in what:
            runner.loads = []
            t0 = time.monotonic()
            scaling = run_scaling(runner, args)
            print_scaling(scaling, args)
            loads = load_summary(runner.loads)
            print(f"load average (1 min) before each measurement: min {loads['min']:.2f}, "
                  f"median {loads['median']:.2f}, max {loads['max']:.2f}; "
                  f"{time.monotonic() - t0:.0f} s")
            doc = {"benchmark": "scaling", "workload": {
                       "size": args.size, "partitions": args.partitions, "acks": 1,
                       "sizes": SIZES, "partition_counts": PARTITION_COUNTS,
                       "budget_mib": args.scaling_budget_mib,
                       "max_messages": args.scaling_messages, "reps": args.scaling_reps,
                       "warmup": args.warmup, "quick": args.quick},
                   "machine": machine, "load1_during_run": loads, **scaling}
            write_json(args.out_dir / "scaling.json", doc)
            progress(f"wrote {args.out_dir / 'scaling.json'}")
            if not args.no_plot:
                plot_scaling(doc, args.out_dir / "scaling.png")
                progress(f"wrote {args.out_dir / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
