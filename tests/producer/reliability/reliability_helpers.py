"""Helpers for the reliability tests: a paced stream of uniquely identified messages
through an :class:`AsyncProducer`, and the bookkeeping that compares what the producer
reported with what the topic holds."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producer_helpers import Record

from gochan import ClosedChannelError, go
from producer import AsyncProducer, ProducerError, ProducerMessage
from producer.testing import KafkaCluster

_ID_PREFIX = b"id="


def make_message(topic: str, i: int, keys: int = 64, pad: int = 40) -> ProducerMessage:
    """Message ``i``: keyed (``keys`` distinct keys), its id in ``metadata``, in the value
    (``id=<i>;...``) and in an ``id`` header."""
    value = b"%s%d;%s" % (_ID_PREFIX, i, b"x" * pad)
    return ProducerMessage(topic, key=b"key-%d" % (i % keys), value=value,
                           headers=[("id", b"%d" % i)], metadata=i)


def id_of(value: bytes | None) -> int | None:
    """The id carried by a record's value, None for a foreign record (e.g. a warm-up)."""
    if not value or not value.startswith(_ID_PREFIX):
        return None
    return int(value[len(_ID_PREFIX):value.index(b";")])


class Stream:
    """Sends messages ``0..total-1`` on ``p.input()`` from a thread, at most ``rate`` a
    second, while two goroutines read ``successes()`` and ``errors()``; the main thread
    injects faults meanwhile (:meth:`wait_sent`, :meth:`wait_done`)."""

    def __init__(self, p: AsyncProducer, topic: str, total: int, *, rate: float = 0.0,
                 keys: int = 64, send_timeout: float = 120.0) -> None:
        self.p = p
        self.topic = topic
        self.total = total
        self.rate = rate
        self.keys = keys
        self.send_timeout = send_timeout
        self.accepted: list[int] = []  # ids input() took, in send order
        self.accepted_at: dict[int, float] = {}  # id -> time.monotonic() of acceptance
        self.reported_at: dict[int, float] = {}  # id -> when its result came back
        self.refused: list[tuple[int, BaseException]] = []  # input().send raised
        self.successes: list[ProducerMessage] = []
        self.errors: list[ProducerError] = []
        self.started = time.monotonic()
        self.send_finished: float | None = None
        self._progress = threading.Condition()
        self._readers = [go(self._read_successes), go(self._read_errors)]
        self._sender = threading.Thread(target=self._send, name="reliability-sender",
                                        daemon=True)
        self._sender.start()

    def _read_successes(self) -> None:
        for msg in self.p.successes():
            self.reported_at[msg.metadata] = time.monotonic()
            self.successes.append(msg)

    def _read_errors(self) -> None:
        for err in self.p.errors():
            if err.msg is not None:
                self.reported_at[err.msg.metadata] = time.monotonic()
            self.errors.append(err)

    def _send(self) -> None:
        send = self.p.input().send
        for i in range(self.total):
            if self.rate and i % 50 == 0:
                ahead = self.started + i / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            msg = make_message(self.topic, i, self.keys)
            try:
                send(msg, timeout=self.send_timeout)
            except (ClosedChannelError, TimeoutError) as exc:
                self.refused.append((i, exc))
                break
            self.accepted_at[i] = time.monotonic()
            self.accepted.append(i)
            if i % 100 == 0:
                with self._progress:
                    self._progress.notify_all()
        self.send_finished = time.monotonic()
        with self._progress:
            self._progress.notify_all()

    @property
    def resolved(self) -> int:
        return len(self.successes) + len(self.errors)

    def wait_sent(self, n: int, timeout: float = 120.0) -> None:
        """Block until ``n`` messages were accepted (or the sender stopped)."""
        with self._progress:
            ok = self._progress.wait_for(
                lambda: len(self.accepted) >= n or not self._sender.is_alive(), timeout)
        if not ok:
            raise AssertionError(f"only {len(self.accepted)} of {n} messages accepted "
                                 f"after {timeout} s")

    def wait_resolved(self, n: int, timeout: float = 120.0) -> bool:
        """Wait until ``n`` results (successes + errors) came back; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.resolved < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def join_sender(self, timeout: float = 300.0) -> None:
        self._sender.join(timeout)
        if self._sender.is_alive():
            raise AssertionError(f"sender still blocked after {timeout} s "
                                 f"({len(self.accepted)} accepted, {self.resolved} resolved)")

    def close(self, timeout: float = 300.0) -> float:
        """Wait for the sender, ``async_close()`` and drain until both channels close.
        Returns the seconds from ``async_close()`` to the channels closing."""
        self.join_sender(timeout)
        start = time.monotonic()
        self.p.async_close()
        deadline = start + timeout
        for g in self._readers:
            if not g.join(max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"successes()/errors() still open {timeout} s after "
                                     f"async_close() ({self.resolved} of "
                                     f"{len(self.accepted)} resolved)")
        return time.monotonic() - start


@dataclass
class Tally:
    """What the producer said against what the topic holds, by message id."""

    sent: int
    successes: int
    errors: int
    lost: int  # success not in the topic, or accepted and never reported
    duplicated: int  # in the topic more than once
    unreported: list[int] = field(default_factory=list)
    success_not_in_topic: list[int] = field(default_factory=list)
    reported_twice: list[int] = field(default_factory=list)
    duplicates: dict[int, int] = field(default_factory=dict)
    failed_but_written: list[int] = field(default_factory=list)
    offset_mismatches: list[tuple[int, int, int]] = field(default_factory=list)
    out_of_order: dict[int, int] = field(default_factory=dict)  # partition -> inversions
    foreign: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)

    def row(self) -> str:
        return (f"sent={self.sent} successes={self.successes} errors={self.errors} "
                f"lost={self.lost} duplicated={self.duplicated} "
                f"failed_but_written={len(self.failed_but_written)} "
                f"out_of_order={sum(self.out_of_order.values())} "
                f"errors_by_kind={dict(self.error_kinds)}")

    def assert_exactly_once(self, *, ordered: bool = True) -> None:
        """Every success in the topic exactly once at its reported offset (in order per
        partition), every other accepted message reported on errors, nothing twice."""
        problems = []
        if self.unreported:
            problems.append(f"{len(self.unreported)} accepted but never reported: "
                            f"{self.unreported[:10]}")
        if self.reported_twice:
            problems.append(f"reported twice: {self.reported_twice[:10]}")
        if self.success_not_in_topic:
            problems.append(f"{len(self.success_not_in_topic)} successes not in the topic: "
                            f"{self.success_not_in_topic[:10]}")
        if self.duplicates:
            problems.append(f"{len(self.duplicates)} ids in the topic more than once: "
                            f"{dict(list(self.duplicates.items())[:10])}")
        if self.offset_mismatches:
            problems.append(f"successes whose (partition, offset) holds another record: "
                            f"{self.offset_mismatches[:10]}")
        if ordered and self.out_of_order:
            problems.append(f"partitions out of send order: {self.out_of_order}")
        if self.successes + self.errors != self.sent:
            problems.append(f"successes + errors = {self.successes + self.errors} != "
                            f"sent = {self.sent}")
        assert not problems, f"{self.row()}\n" + "\n".join(problems)


def tally(stream: Stream, records: Iterable[Any]) -> Tally:
    """Compare the stream's reports with the consumed records (``producer_helpers.Record``)."""
    accepted = set(stream.accepted)
    reports: Counter[int] = Counter()
    success_at: dict[int, tuple[int, int]] = {}
    for m in stream.successes:
        reports[m.metadata] += 1
        success_at[m.metadata] = (m.partition, m.offset)
    failed: set[int] = set()
    kinds: Counter[str] = Counter()
    for e in stream.errors:
        mid = e.msg.metadata if e.msg is not None else None
        reports[mid] += 1
        failed.add(mid)
        kinds[type(e.err).__name__ + ":" + _short_reason(e.err)] += 1
    in_topic: Counter[int] = Counter()
    at: dict[tuple[int, int], int] = {}
    by_partition: dict[int, list[tuple[int, int]]] = defaultdict(list)
    foreign = 0
    for r in records:
        mid = id_of(r.value)
        if mid is None:
            foreign += 1
            continue
        in_topic[mid] += 1
        at[(r.partition, r.offset)] = mid
        by_partition[r.partition].append((r.offset, mid))
    out_of_order = {}
    for part, rows in by_partition.items():
        seen: set[int] = set()
        ids = []  # first occurrences only: a duplicate is counted as such, not as disorder
        for _, mid in sorted(rows):
            if mid not in seen:
                seen.add(mid)
                ids.append(mid)
        inversions = sum(1 for a, b in itertools.pairwise(ids) if b < a)
        if inversions:
            out_of_order[part] = inversions
    unreported = sorted(accepted - set(reports))
    success_not_in_topic = sorted(i for i in success_at if in_topic[i] == 0)
    mismatches = [(i, p, o) for i, (p, o) in success_at.items() if at.get((p, o)) != i]
    return Tally(
        sent=len(accepted),
        successes=len(success_at),
        errors=len(failed),
        lost=len(unreported) + len(success_not_in_topic),
        duplicated=sum(1 for c in in_topic.values() if c > 1),
        unreported=unreported,
        success_not_in_topic=success_not_in_topic,
        reported_twice=sorted(i for i, c in reports.items() if c > 1),
        duplicates={i: c for i, c in in_topic.items() if c > 1},
        failed_but_written=sorted(i for i in failed if in_topic[i] > 0),
        offset_mismatches=mismatches,
        out_of_order=out_of_order,
        foreign=foreign,
        error_kinds=kinds,
    )


def _short_reason(err: BaseException) -> str:
    text = str(err)
    return text.split(":", 1)[0][:40]


def read_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 120.0,
               isolation: str = "read_uncommitted") -> list[Record]:
    """Every record of ``topic`` up to its end offsets (taken first; for read_committed
    the last stable offsets), with a plain kafka-python consumer."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             client_id="reliability-consumer", request_timeout_ms=30_000,
                             isolation_level=isolation)
    out: list[Record] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                have = {tp.partition: consumer.position(tp) for tp in tps}
                raise AssertionError(f"read {len(out)} records of {topic} in {timeout} s; "
                                     f"positions {have}, end offsets "
                                     f"{ {tp.partition: o for tp, o in ends.items()} }")
            for tp, records in consumer.poll(timeout_ms=500, max_records=10_000).items():
                out.extend(Record(tp.partition, r.offset, r.key, r.value,
                                  list(r.headers or [])) for r in records)
    finally:
        consumer.close()
    return out


def consume_all(cluster: KafkaCluster, topic: str, partitions: int,
                timeout: float = 120.0, isolation: str = "read_uncommitted") -> list[Record]:
    """Every record of the topic, read from the brokers that are up."""
    live = ",".join(b.address for b in cluster.brokers if b.state == "running")
    return read_topic(live or cluster.bootstrap_servers, topic, partitions, timeout,
                      isolation)


def wait_for(cond: Callable[[], bool], timeout: float, what: str, every: float = 0.3) -> float:
    """Poll ``cond`` (exceptions count as False) until true; return the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout
    last: BaseException | None = None
    while True:
        try:
            if cond():
                return time.monotonic() - start
        except Exception as exc:  # metadata requests fail while nodes are down
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}"
                                 + (f" (last error: {last!r})" if last else ""))
        time.sleep(every)


def full_isr(cluster: KafkaCluster, topic: str) -> bool:
    """Every partition of ``topic`` has a leader and all its replicas in sync."""
    parts = cluster.partitions(topic, timeout=10)
    return bool(parts) and all(
        int(p["leader_id"]) >= 0 and set(p["isr_nodes"]) == set(p["replica_nodes"])
        for p in parts)


def heal(cluster: KafkaCluster, topics: Iterable[str] = (), timeout: float = 180.0) -> None:
    """Bring every node back (SIGCONT the stopped, restart the killed), wait until all
    are registered and every partition of ``topics`` has its full ISR again."""
    for b in cluster.brokers:
        if b.state == "stopped":
            cluster.resume(b.node_id)
    # Not one by one with wait=True: a node cannot register while most of the controller
    # quorum is down, and gives up after initial.broker.registration.timeout.ms (60 s).
    for b in cluster.brokers:
        if b.state == "killed" or b.pid is None:
            cluster.restart(b.node_id, wait=False)
    cluster.wait_for_brokers(timeout=timeout)
    for topic in topics:
        wait_for(lambda t=topic: full_isr(cluster, t), timeout, f"full ISR of {topic}")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def paused(cluster: KafkaCluster, node_id: int) -> Any:
    """SIGSTOP ``node_id`` for the duration of the block (SIGCONT on exit)."""
    cluster.stop(node_id)
    try:
        yield
    finally:
        cluster.resume(node_id)


def report(name: str, t: Tally, **extra: object) -> None:
    """One line per scenario, for the summary (``pytest -s | grep RELIABILITY``)."""
    more = " ".join(f"{k}={v}" for k, v in extra.items())
    print(f"\nRELIABILITY {name}: {t.row()} {more}".rstrip(), flush=True)
