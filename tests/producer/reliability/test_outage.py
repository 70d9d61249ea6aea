"""The whole cluster unreachable (issue 7, scenarios 3 and 4).

Scenario 3, what a producer does when there is no cluster:

- at construction, nothing listening: ``KafkaError`` ("client has run out of available
  brokers to talk to ... Unable to bootstrap") within ``net.dial_timeout`` (+ slack), and
  no thread is left behind;
- at construction, every node frozen (SIGSTOP): the same, then the cluster comes back and
  a new producer works;
- after construction, the cluster killed and restarted within the delivery timeout
  (``(retry.max + 1) * (producer.timeout + retry.backoff)``): the buffered messages go out
  once it is back, exactly once (idempotent);
- after construction, an outage longer than the delivery timeout: every buffered message
  fails on ``errors()`` (batch expired / request timed out), nothing hangs, and the same
  producer delivers again once the cluster is back.

Scenario 4, ``close()`` during an outage: it returns within a bound derived from the
config and raises ``ProducerErrors`` holding every undelivered message, and no producer
thread (goroutine or kafka-python network thread) is left. The bound is
``3 * delivery_timeout + slack``: a message waits for a window slot for up to one delivery
timeout (the window of ``4 * max(channel_buffer_size, 1)`` messages handed to kafka-python is
full of messages that fail only when their own delivery timeout runs out), then its own,
and, before the fix, kafka-python's ``close`` waited one more. The idempotent producer
stays within it too: there kafka-python's sender stops expiring batches while no broker
can give it a producer id, and the producer's own backstop fails each message
``producer.timeout + 1`` s after its delivery timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from producer_helpers import goroutine_ids, network_threads, producer_goroutines, wait_gone
from reliability_helpers import (
    Stream,
    consume_all,
    make_message,
    report,
    tally,
)

from gochan import select
from producer import (
    AsyncProducer,
    BrokerError,
    Config,
    KafkaError,
    ProducerErrors,
    ProducerMessage,
    RequiredAcks,
    RetryConfig,
    SyncProducer,
)
from producer._kafka import delivery_timeout
from producer.testing import KafkaCluster

PARTITIONS = 3
SLACK = 15.0  # seconds, for a loaded machine


def config(*, idempotent: bool = False, retry_max: int = 2, timeout: float = 2.0,
           backoff: float = 0.2, dial: float = 10.0, successes: bool = True) -> Config:
    c = Config()
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.producer.idempotent = idempotent
    c.net.max_open_requests = 1 if idempotent else 5
    c.producer.retry = RetryConfig(max=retry_max, backoff=backoff)
    c.producer.timeout = timeout
    c.producer.return_successes = successes
    c.net.dial_timeout = dial
    return c


def close_bound(c: Config) -> float:
    """How long ``close()`` may take during an outage (see the module docstring)."""
    return 3 * delivery_timeout(c) + SLACK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_all(cluster: KafkaCluster) -> None:
    for b in cluster.brokers:
        cluster.stop(b.node_id)


def resume_all(cluster: KafkaCluster) -> None:
    for b in cluster.brokers:
        if b.state == "stopped":
            cluster.resume(b.node_id)


def warm(p: AsyncProducer, topic: str) -> None:
    """One acknowledged message per partition: metadata and connections are in place."""
    for part in range(PARTITIONS):
        msg = ProducerMessage(topic, value=b"warm-up", key=b"warm-%d" % part)
        p.input().send(msg)
        index, got = select(p.successes().recv, p.errors().recv, timeout=60)
        assert index == 0, got


def assert_nothing_left(goroutines_before: set[int], threads_before: set[int | None]) -> None:
    assert wait_gone(lambda: producer_goroutines(goroutines_before), 5) == []
    assert wait_gone(lambda: network_threads(threads_before), 5) == []


# -- scenario 3 -------------------------------------------------------------------------

@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["async", "sync", "async-two-addresses"])
def test_nothing_listening_fails_within_dial_timeout(kind: str) -> None:
    addrs = [f"127.0.0.1:{free_port()}"]
    if kind.endswith("two-addresses"):
        addrs.append(f"127.0.0.1:{free_port()}")
    dial = 2.0
    goroutines_before = goroutine_ids()
    threads_before = {t.ident for t in threading.enumerate()}
    cls: Any = SyncProducer if kind == "sync" else AsyncProducer
    start = time.monotonic()
    with pytest.raises(KafkaError) as info:
        cls(addrs, config(dial=dial))
    took = time.monotonic() - start
    print(f"\nRELIABILITY 3-nothing-listening[{kind}]: failed in {took:.2f} s "
          f"(net.dial_timeout {dial:g} s): {info.value}", flush=True)
    assert took <= dial + 5, took
    text = str(info.value)
    assert "run out of available brokers" in text and "bootstrap" in text
    assert all(a in text for a in addrs), text
    assert_nothing_left(goroutines_before, threads_before)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cluster_frozen_at_startup_then_appears(cluster3: KafkaCluster,
                                                topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    dial = 3.0
    stop_all(cluster3)
    try:
        start = time.monotonic()
        with pytest.raises(KafkaError, match="Unable to bootstrap"):
            AsyncProducer(cluster3.bootstrap_servers, config(dial=dial))
        took = time.monotonic() - start
    finally:
        resume_all(cluster3)
    assert took <= dial + 5, took
    cluster3.wait_for_brokers(timeout=120)
    p = AsyncProducer(cluster3.bootstrap_servers, config(idempotent=True, retry_max=10,
                                                         timeout=5.0, dial=dial))
    s = Stream(p, topic, 2_000)
    s.close(timeout=120)
    t = tally(s, consume_all(cluster3, topic, PARTITIONS))
    report("3-frozen-at-startup-then-appears", t, construction_failed_after=round(took, 2))
    t.assert_exactly_once()
    assert t.errors == 0


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_cluster_killed_after_construction_comes_back_within_delivery_timeout(
        cluster3: KafkaCluster, topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    # A full restart of the three nodes takes ~15-30 s, and kafka-python backs off
    # reconnecting (up to reconnect_backoff_max_ms = 30 s); then the leaders move while the
    # nodes register, each NotLeaderForPartition answer costing a retry: with retry.max=20
    # and a 0.2 s backoff, ~200 of 4,000 ran out of retries (NotLeaderForPartition, then
    # OutOfOrderSequenceNumber); with 50 retries 0.5 s apart, once 257 (NotLeader answers
    # for ~40 s after the nodes were back). sarama counts these retries the same way
    # (Retry.Max, default 3). 200 retries 0.5 s apart outlast it (delivery timeout 1,100 s).
    c = config(idempotent=True, retry_max=200, timeout=5.0, backoff=0.5)
    p = AsyncProducer(cluster3.bootstrap_servers, c)
    s = Stream(p, topic, 4_000, rate=1_000)
    s.wait_sent(1_000)
    killed = time.monotonic()
    for b in cluster3.brokers:
        cluster3.kill(b.node_id)
    time.sleep(5)
    for b in cluster3.brokers:
        cluster3.restart(b.node_id, wait=False)
    cluster3.wait_for_brokers(timeout=180)
    back = time.monotonic() - killed
    s.close(timeout=300)
    last = max(s.reported_at.values()) - killed
    t = tally(s, consume_all(cluster3, topic, PARTITIONS))
    report("3-killed-after-construction-comes-back", t, cluster_back_after=round(back, 1),
           all_resolved_after=round(last, 1), delivery_timeout=delivery_timeout(c))
    t.assert_exactly_once()
    assert t.errors == 0, t.row()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_outage_longer_than_delivery_timeout_fails_then_recovers(
        cluster3: KafkaCluster, topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    c = config(retry_max=1, timeout=2.0)
    budget = delivery_timeout(c)  # 4.4 s
    p = AsyncProducer(cluster3.bootstrap_servers, c)
    warm(p, topic)
    stop_all(cluster3)
    try:
        s = Stream(p, topic, 200)
        s.join_sender(60)
        ok = s.wait_resolved(200, 2 * budget + SLACK)
        took = max(s.reported_at.values(), default=0) - s.started
    finally:
        resume_all(cluster3)
    assert ok, f"{s.resolved} of 200 resolved"
    assert len(s.errors) == 200 and not s.successes
    assert all(isinstance(e.err, BrokerError) and e.err.retriable for e in s.errors)
    cluster3.wait_for_brokers(timeout=120)
    # The same producer delivers again (the stream's readers take its result).
    msg = make_message(topic, 10_000)
    p.input().send(msg)
    back = s.wait_resolved(201, 120)
    s.close(timeout=120)
    assert back, "no result for a message sent once the cluster was back"
    assert s.successes == [msg], s.errors[200:]
    print(f"\nRELIABILITY 3-outage-longer-than-delivery-timeout: 200 of 200 failed within "
          f"{took:.1f} s (delivery timeout {budget:g} s), then delivered again", flush=True)


# -- scenario 4 -------------------------------------------------------------------------

def close_during_full_outage(cluster: KafkaCluster, topic: str, c: Config, n: int,
                             ) -> tuple[BaseException | None, float]:
    """Stop every node, send messages ``0..n-1`` (fewer than the producer accepts before
    blocking), then close() in a thread. Returns what close() raised and how long it took
    (inf if it did not return within the bound; the producer is then forced closed)."""
    p = AsyncProducer(cluster.bootstrap_servers, c)  # close() discards the successes
    box: list[BaseException | None] = []
    try:
        warm(p, topic)
        stop_all(cluster)
        msgs = [make_message(topic, i) for i in range(n)]
        for m in msgs:
            p.input().send(m, timeout=30)

        def close() -> None:
            try:
                p.close()
                box.append(None)
            except BaseException as exc:
                box.append(exc)

        start = time.monotonic()
        t = threading.Thread(target=close, name="close-during-outage", daemon=True)
        t.start()
        t.join(close_bound(c))
        took = time.monotonic() - start if not t.is_alive() else float("inf")
        if t.is_alive():  # rescue: fail what kafka-python holds so that close() ends
            p._client._sender.force_close()
            t.join(60)
    finally:
        resume_all(cluster)
    return box[0] if box else None, took


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_close_during_full_outage_reports_every_message(cluster3: KafkaCluster,
                                                        topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    goroutines_before = goroutine_ids()
    threads_before = {t.ident for t in threading.enumerate()}
    c = config(retry_max=2, timeout=2.0)  # delivery timeout 6.6 s
    raised, took = close_during_full_outage(cluster3, topic, c, 500)
    print(f"\nRELIABILITY 4-close-full-outage: close() took {took:.1f} s "
          f"(delivery timeout {delivery_timeout(c):g} s, bound {close_bound(c):g} s), "
          f"reported {len(raised) if isinstance(raised, ProducerErrors) else raised}",
          flush=True)
    assert took <= close_bound(c), took
    assert isinstance(raised, ProducerErrors), raised
    assert sorted(e.msg.metadata for e in raised) == list(range(500))  # each exactly once
    assert all(isinstance(e.err, BrokerError) and e.err.retriable for e in raised)
    assert_nothing_left(goroutines_before, threads_before)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_close_during_full_outage_idempotent(cluster3: KafkaCluster,
                                             topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    goroutines_before = goroutine_ids()
    threads_before = {t.ident for t in threading.enumerate()}
    c = config(idempotent=True, retry_max=2, timeout=2.0)
    raised, took = close_during_full_outage(cluster3, topic, c, 500)
    print(f"\nRELIABILITY 4-close-full-outage-idempotent: close() took {took:.1f} s "
          f"(bound {close_bound(c):g} s), "
          f"reported {len(raised) if isinstance(raised, ProducerErrors) else raised}",
          flush=True)
    assert took <= close_bound(c), f"close() did not return within {close_bound(c):g} s"
    assert isinstance(raised, ProducerErrors)
    assert sorted(e.msg.metadata for e in raised) == list(range(500))
    assert_nothing_left(goroutines_before, threads_before)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_close_returns_promptly_once_every_message_has_failed(
        cluster3: KafkaCluster, topic3: Callable[..., str]) -> None:
    topic = topic3(PARTITIONS)
    c = config(retry_max=4, timeout=2.0)  # delivery timeout 11 s
    p = AsyncProducer(cluster3.bootstrap_servers, c)
    try:
        warm(p, topic)
        stop_all(cluster3)
        s = Stream(p, topic, 100)
        s.join_sender(60)
        assert s.wait_resolved(100, 2 * delivery_timeout(c) + SLACK)
        assert len(s.errors) == 100
        took = s.close(timeout=120)  # nothing left to deliver or report
    finally:
        resume_all(cluster3)
    print(f"\nRELIABILITY 4-close-after-all-failed: close took {took:.1f} s "
          f"(delivery timeout {delivery_timeout(c):g} s)", flush=True)
    assert took <= 5, f"close() took {took:.1f} s with nothing left to deliver"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_close_with_the_partition_leader_stopped(cluster3: KafkaCluster,
                                                 topic3: Callable[..., str]) -> None:
    """The leader of partition 0 frozen; an AsyncProducer with messages for every partition
    and a SyncProducer blocked in send_message to partition 0 are closed meanwhile.

    With acks=all and a 1 s producer.timeout, the frozen node (a follower of the other
    partitions) holds back every acknowledgement until it is fenced (~4 s): with no retry
    most messages fail although the leader appended them (``failed_but_written``), which
    is at least once, not loss."""
    topic = topic3(PARTITIONS)
    goroutines_before = goroutine_ids()
    threads_before = {t.ident for t in threading.enumerate()}
    c = config(retry_max=0, timeout=1.0)  # delivery timeout 1.2 s
    p = AsyncProducer(cluster3.bootstrap_servers, c)  # close() discards the successes
    warm(p, topic)  # else its first metadata request may go to the frozen node
    sc = config(retry_max=0, timeout=1.0)
    sc.producer.partitioner = "manual"
    sp = SyncProducer(cluster3.bootstrap_servers, sc)
    sp.send_message(ProducerMessage(topic, value=b"warm-up", partition=0))
    leader = cluster3.leader_of(topic, 0)
    blocked: list[Any] = []
    try:
        cluster3.stop(leader)
        # Fewer than channel_buffer_size: nobody reads errors() until close(), and more
        # unread errors than that would stall input() (the documented sarama deadlock).
        msgs = [make_message(topic, i) for i in range(240)]
        for m in msgs:
            p.input().send(m, timeout=30)
        t = threading.Thread(target=lambda: blocked.append(_outcome(
            lambda: sp.send_message(ProducerMessage(topic, value=b"blocked", partition=0)))),
            name="blocked-send-message", daemon=True)
        t.start()
        time.sleep(0.3)
        start = time.monotonic()
        raised = _outcome(p.close)
        sp.close()
        took = time.monotonic() - start
        t.join(30)
        assert not t.is_alive(), "send_message still blocked after close()"
    finally:
        cluster3.resume(leader)
    failed = sorted(e.msg.metadata for e in raised) if isinstance(raised, ProducerErrors) else []
    delivered = sorted(set(range(240)) - set(failed))
    records = consume_all(cluster3, topic, PARTITIONS)
    in_topic = {int(r.value.split(b";")[0][3:]) for r in records if r.value.startswith(b"id=")}
    print(f"\nRELIABILITY 4-close-leader-stopped: close() took {took:.1f} s (bound "
          f"{close_bound(c):g} s); sent=240 failed={len(failed)} delivered={len(delivered)} "
          f"failed_but_written={len(set(failed) & in_topic)}; blocked send_message -> "
          f"{blocked[0]!r}", flush=True)
    assert took <= close_bound(c) + close_bound(sc), took
    assert failed, "nothing failed although partition 0's leader was frozen"
    assert not set(delivered) - in_topic, "messages not reported failed are missing"
    assert isinstance(blocked[0], BrokerError) and blocked[0].retriable, blocked
    assert_nothing_left(goroutines_before, threads_before)


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc
