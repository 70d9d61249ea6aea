"""Ten threads producing for 60 seconds through one AsyncProducer and one SyncProducer on
one broker (issue 7, load): RSS stays bounded, every message is accounted for exactly
once, no thread is left after close.

Threads 0-4 send on the AsyncProducer's ``input()`` (two goroutines read ``successes()``
and ``errors()``); threads 5-9 call ``SyncProducer.send_messages`` with batches of 50.
Message ``thread * 10**7 + seq`` carries its id in metadata and value. Results are counted
in preallocated ``bytearray``s, one byte per message, so the bookkeeping does not grow
the heap it measures. VmRSS is sampled every second; the first 10 s are the warm-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from producer_helpers import goroutine_ids, network_threads, producer_goroutines, wait_gone
from reliability_helpers import id_of, make_message, read_topic, rss_kib

from gochan import go
from producer import AsyncProducer, Config, ProducerErrors, SyncProducer
from producer.testing import KafkaCluster

THREADS = 10
ASYNC_THREADS = 5
DURATION = 60.0
WARM_UP = 10.0
SPAN = 10**7  # ids of thread t: t * SPAN + seq
CAP = 2_000_000  # messages per thread at most (the counters' size)
BATCH = 50
PARTITIONS = 6
GROWTH_LIMIT_KIB = 100 * 1024  # after the warm-up, RSS may not grow by more than this


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ten_threads_for_a_minute(kafka_cluster: KafkaCluster,
                                  new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=PARTITIONS)
    bootstrap = kafka_cluster.bootstrap_servers
    goroutines_before = goroutine_ids()
    threads_before = {t.ident for t in threading.enumerate()}
    succeeded = [bytearray(CAP) for _ in range(THREADS)]
    failed = [bytearray(CAP) for _ in range(THREADS)]
    accepted = [0] * THREADS
    c = Config()
    c.producer.return_successes = True
    ap = AsyncProducer(bootstrap, c)
    sp = SyncProducer(bootstrap, c)

    def read_successes() -> None:
        for msg in ap.successes():
            t, seq = divmod(msg.metadata, SPAN)
            succeeded[t][seq] += 1

    def read_errors() -> None:
        for err in ap.errors():
            t, seq = divmod(err.msg.metadata, SPAN)
            failed[t][seq] += 1

    readers = [go(read_successes), go(read_errors)]
    rss: list[tuple[float, int]] = []
    stop = threading.Event()
    start = time.monotonic()
    deadline = start + DURATION

    def sample_rss() -> None:
        while not stop.is_set():
            rss.append((time.monotonic() - start, rss_kib()))
            stop.wait(1.0)

    def async_sender(t: int) -> None:
        send = ap.input().send
        seq = 0
        while time.monotonic() < deadline and seq < CAP:
            send(make_message(topic, t * SPAN + seq), timeout=120)
            seq += 1
            accepted[t] = seq

    def sync_sender(t: int) -> None:
        seq = 0
        while time.monotonic() < deadline and seq + BATCH <= CAP:
            batch = [make_message(topic, t * SPAN + seq + i) for i in range(BATCH)]
            accepted[t] = seq + BATCH
            try:
                sp.send_messages(batch)
                bad: set[int] = set()
            except ProducerErrors as errs:
                bad = {e.msg.metadata for e in errs}
            for m in batch:
                (failed if m.metadata in bad else succeeded)[t][m.metadata - t * SPAN] += 1
            seq += BATCH

    sampler = threading.Thread(target=sample_rss, name="rss-sampler", daemon=True)
    sampler.start()
    senders = [threading.Thread(target=async_sender if t < ASYNC_THREADS else sync_sender,
                                args=(t,), name=f"load-{t}", daemon=True)
               for t in range(THREADS)]
    for s in senders:
        s.start()
    for s in senders:
        s.join(DURATION + 120)
    assert not any(s.is_alive() for s in senders), "a sender is stuck"
    ap.async_close()
    for g in readers:
        assert g.join(120), "successes()/errors() did not close"
    sp.close()
    stop.set()
    sampler.join(10)
    elapsed = time.monotonic() - start

    # Every accepted message reported exactly once.
    total = sum(accepted)
    sent_ok = 0
    problems = []
    for t in range(THREADS):
        n = accepted[t]
        for seq in range(n):
            reports = succeeded[t][seq] + failed[t][seq]
            if reports != 1:
                problems.append((t, seq, succeeded[t][seq], failed[t][seq]))
        sent_ok += sum(succeeded[t][:n])
        assert not any(succeeded[t][n:]) and not any(failed[t][n:])
    assert problems == [], f"{len(problems)} messages not reported exactly once: {problems[:10]}"
    errors = total - sent_ok

    # Every success in the topic exactly once (and nothing else from these ids).
    in_topic = [bytearray(accepted[t]) for t in range(THREADS)]
    extra = 0
    for record in read_topic(bootstrap, topic, PARTITIONS, timeout=300):
        mid = id_of(record.value)
        assert mid is not None
        t, seq = divmod(mid, SPAN)
        if seq < accepted[t]:
            in_topic[t][seq] += 1
        else:
            extra += 1
    mismatched = [(t, seq) for t in range(THREADS) for seq in range(accepted[t])
                  if in_topic[t][seq] != succeeded[t][seq]]

    warm = [kib for at, kib in rss if at <= WARM_UP]
    after = [kib for at, kib in rss if at > WARM_UP]
    peak = max(kib for _, kib in rss)
    print(f"\nRELIABILITY load: {total} messages in {elapsed:.0f} s "
          f"({sum(accepted[:ASYNC_THREADS])} async, {sum(accepted[ASYNC_THREADS:])} sync), "
          f"successes={sent_ok} errors={errors} lost={len(mismatched)} extra={extra}; "
          f"RSS warm-up peak {max(warm) / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB, "
          f"last {rss[-1][1] / 1024:.0f} MiB ({len(rss)} samples)", flush=True)
    assert mismatched == [] and extra == 0, mismatched[:10]
    assert errors == 0
    assert total > 10_000, "the load test barely ran"
    # Bounded: no growth beyond GROWTH_LIMIT after the warm-up, and no steady climb
    # (the last quarter's mean is not above the first quarter's after warm-up + 50 MiB).
    assert len(after) >= 30, rss
    assert max(after) <= max(warm) + GROWTH_LIMIT_KIB, rss
    quarter = len(after) // 4
    first = sum(after[:quarter]) / quarter
    last = sum(after[-quarter:]) / quarter
    assert last <= first + 50 * 1024, (first, last, rss)

    assert wait_gone(lambda: producer_goroutines(goroutines_before), 5) == []
    assert wait_gone(lambda: network_threads(threads_before), 5) == []
