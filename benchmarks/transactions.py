"""Throughput of the transactional producer: transactions of 1, 100 and 10,000 messages.

    .venv/bin/python benchmarks/transactions.py                  # ~2 minutes on 2 cores
    .venv/bin/python benchmarks/transactions.py --quick          # smoke run
    .venv/bin/python benchmarks/transactions.py --sizes 1,100,10000 --messages 20000 --reps 3

For each transaction size, a fresh 3-partition topic and a fresh transactional
``AsyncProducer`` (``return_successes`` on, successes and errors drained by goroutines)
run ``begin_txn()``, ``size`` sends of ``--value-size`` bytes, ``commit_txn()`` until about
``--messages`` messages are committed (at least one transaction, at most
``--max-txns``); the figure is committed messages per second and transactions per
second, from the first ``begin_txn`` to the last commit; the median over ``--reps``.
A reference row sends the same number of messages with the same config but no
transaction id (idempotent, acks=all, one request in flight), in the same run.

Progress lines on stderr; the table on stdout; ``results/transactions.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# Keep this folder off sys.path: benchmarks/producer.py would shadow the producer package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
sys.path.insert(0, str(ROOT.parent))


def progress(text: str) -> None:
    print(f"[transactions] {text}", file=sys.stderr, flush=True)


def config(txn_id: str | None) -> Any:
    from producer import Config, RequiredAcks

    c = Config()
    c.producer.idempotent = True
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.net.max_open_requests = 1
    c.producer.return_successes = True
    if txn_id:
        c.producer.transaction.id = txn_id
    return c


def run_one(bootstrap: str, topic: str, size: int | None, total: int, value_size: int,
            max_txns: int) -> dict[str, float]:
    """``size`` None: the reference run without transactions."""
    from gochan import go
    from producer import AsyncProducer, ProducerMessage

    txn_id = f"bench-{uuid.uuid4().hex[:8]}" if size else None
    p = AsyncProducer(bootstrap, config(txn_id))
    ok = [0]
    failed: list[object] = []

    def drain_ok() -> None:
        for _ in p.successes():
            ok[0] += 1

    def drain_err() -> None:
        for e in p.errors():
            failed.append(e)

    readers = [go(drain_ok), go(drain_err)]
    value = b"x" * value_size
    send = p.input().send
    # warm-up: metadata and connections (and for transactions, the coordinator)
    if size:
        p.begin_txn()
    send(ProducerMessage(topic=topic, value=value))
    if size:
        p.commit_txn()
    txns = 0
    sent = 0
    start = time.perf_counter()
    if size:
        n_txns = max(1, min(max_txns, total // size))
        for _ in range(n_txns):
            p.begin_txn()
            for _ in range(size):
                send(ProducerMessage(topic=topic, value=value))
            p.commit_txn()
            txns += 1
            sent += size
    else:
        for _ in range(total):
            send(ProducerMessage(topic=topic, value=value))
        sent = total
        while ok[0] + len(failed) < total + 1:
            time.sleep(0.001)
    elapsed = time.perf_counter() - start
    p.close()
    for g in readers:
        g.join()
    if failed:
        raise RuntimeError(f"{len(failed)} messages failed: {failed[0]}")
    return {"messages": sent, "transactions": txns, "seconds": elapsed,
            "msg_per_s": sent / elapsed, "txn_per_s": txns / elapsed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,100,10000", help="messages per transaction")
    ap.add_argument("--messages", type=int, default=20_000,
                    help="messages per measurement (about; at least one transaction)")
    ap.add_argument("--max-txns", type=int, default=300,
                    help="at most this many transactions per measurement")
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny loads, one repetition")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "results")
    args = ap.parse_args(argv)
    if args.quick:
        args.messages, args.max_txns, args.reps, args.sizes = 200, 5, 1, "1,100"
    sizes = [int(s) for s in args.sizes.split(",") if s]

    from producer.testing import local_kafka

    rows: dict[str, list[dict[str, float]]] = {}
    with local_kafka() as cluster:
        progress(f"broker at {cluster.bootstrap_servers}")
        for rep in range(args.reps):
            for size in [*sizes, None]:
                label = f"{size} per transaction" if size else "no transaction (reference)"
                topic = f"bench-txn-{uuid.uuid4().hex[:10]}"
                cluster.create_topic(topic, 3, 1)
                result = run_one(cluster.bootstrap_servers, topic, size, args.messages,
                                 args.value_size, args.max_txns)
                rows.setdefault(label, []).append(result)
                progress(f"rep {rep + 1}/{args.reps} {label}: {result['msg_per_s']:,.0f} msg/s, "
                         f"{result['txn_per_s']:,.1f} txn/s "
                         f"({result['messages']:.0f} messages in {result['seconds']:.1f} s)")
    summary = {label: {"msg_per_s": statistics.median(r["msg_per_s"] for r in runs),
                       "txn_per_s": statistics.median(r["txn_per_s"] for r in runs),
                       "messages": runs[0]["messages"], "transactions": runs[0]["transactions"],
                       "runs": runs}
               for label, runs in rows.items()}
    print(f"{'workload':<30} {'msg/s':>10} {'txn/s':>10}   (median of {args.reps})")
    for label, s in summary.items():
        print(f"{label:<30} {s['msg_per_s']:>10,.0f} {s['txn_per_s']:>10,.1f}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "transactions.json"
    out.write_text(json.dumps({"benchmark": "transactions", "args": vars(args) | {
        "out_dir": str(args.out_dir)}, "results": summary}, indent=2))
    progress(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
