"""A broker frozen with SIGSTOP for longer than ``producer.timeout``, then SIGCONT, on the
three-node cluster (issue 7, scenario 2).

- Idempotent, enough retries (the leader or a follower of partition 0 paused for 8 s,
  ``producer.timeout`` 2 s / 1 s): no loss, no duplicates, in order.
- A small retry budget (non-idempotent, ``retry.max`` 0 or 1, ``producer.timeout`` 1 s,
  the leader paused 8 s): the retries run out and the failures are visible on
  ``errors()`` as retriable ``BrokerError``s (request timed out, batch expired, not
  leader), each within a bound of the delivery timeout; nothing is lost or reported twice,
  and the producer recovers once a new leader serves the partition.
- The idempotent producer after one of its messages expired: it asks for a new producer
  id and delivers again (kafka-python 3.0.12 stopped for good there; see
  ``producer._kafka._reinitialise_after_reset``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from reliability_helpers import Stream, consume_all, heal, report, tally

from gochan import select
from producer import AsyncProducer, BrokerError, Config, ProducerMessage, RequiredAcks, RetryConfig
from producer._kafka import delivery_timeout
from producer.testing import KafkaCluster

PARTITIONS = 3
PAUSE = 8.0  # > producer.timeout, and > broker.session.timeout.ms (4 s): a new leader


def config(*, idempotent: bool, retry_max: int, timeout: float, backoff: float) -> Config:
    c = Config()
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.producer.idempotent = idempotent
    c.net.max_open_requests = 1 if idempotent else 5
    c.producer.retry = RetryConfig(max=retry_max, backoff=backoff)
    c.producer.timeout = timeout
    c.producer.return_successes = True
    c.net.dial_timeout = 10.0
    return c


def paused_stream(cluster: KafkaCluster, topic: str, c: Config, who: str, total: int,
                  ) -> tuple[Stream, int, float]:
    """Stream ``total`` messages at 2,000/s; after 5,000, SIGSTOP the leader (or a follower)
    of partition 0 for PAUSE seconds. Returns the closed stream, the node, and when it
    was resumed."""
    p = AsyncProducer(cluster.bootstrap_servers, c)
    s = Stream(p, topic, total, rate=2_000)
    s.wait_sent(5_000)
    part = cluster.partitions(topic)[0]
    leader = int(part["leader_id"])
    victim = leader if who == "leader" else next(
        n for n in part["replica_nodes"] if n != leader)
    cluster.stop(victim)
    try:
        assert s.resolved < total, "the stream was over before the fault"
        time.sleep(PAUSE)
    finally:
        cluster.resume(victim)
    resumed = time.monotonic()
    s.close(timeout=300)
    return s, victim, resumed


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize(("who", "timeout"), [("leader", 2.0), ("follower", 1.0)])
def test_paused_broker_idempotent_no_loss_no_duplicates(cluster3: KafkaCluster,
                                                        topic3: Callable[..., str],
                                                        who: str, timeout: float) -> None:
    topic = topic3(PARTITIONS)
    c = config(idempotent=True, retry_max=10, timeout=timeout, backoff=0.5)
    s, victim, _ = paused_stream(cluster3, topic, c, who, 20_000)
    t = tally(s, consume_all(cluster3, topic, PARTITIONS))
    report(f"2-{who}-paused-idempotent", t, victim=victim, pause=PAUSE,
           delivery_timeout=delivery_timeout(c))
    t.assert_exactly_once(ordered=True)
    assert t.errors == 0, t.row()


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("retry_max", [0, 1])
def test_paused_leader_small_retry_budget_fails_visibly(cluster3: KafkaCluster,
                                                        topic3: Callable[..., str],
                                                        retry_max: int) -> None:
    topic = topic3(PARTITIONS)
    c = config(idempotent=False, retry_max=retry_max, timeout=1.0, backoff=0.2)
    budget = delivery_timeout(c)  # (retry_max + 1) * (1 + 0.2) s
    s, victim, resumed = paused_stream(cluster3, topic, c, "leader", 40_000)
    t = tally(s, consume_all(cluster3, topic, PARTITIONS))
    latencies = [s.reported_at[e.msg.metadata] - s.accepted_at[e.msg.metadata]
                 for e in s.errors]
    report(f"2-leader-paused-retry.max={retry_max}", t, victim=victim,
           delivery_timeout=round(budget, 1),
           max_error_latency=round(max(latencies, default=0), 1))
    # The retries ran out while the leader was frozen: failures, on errors().
    assert t.errors > 0, t.row()
    for e in s.errors:
        assert isinstance(e.err, BrokerError) and e.err.retriable, repr(e.err)
        assert any(word in str(e.err) for word in (
            "RequestTimedOut", "Expiring", "NotLeader")), repr(e.err)
    # Each within the budget: up to one delivery timeout queued behind the window of
    # messages handed to kafka-python, plus its own delivery timeout (+ a loaded machine).
    assert max(latencies) <= 2 * budget + 10, sorted(latencies)[-5:]
    # Nothing lost, nothing reported twice (a failed message may still have been
    # written: at least once without idempotence).
    assert t.unreported == [] and t.reported_twice == [] and t.success_not_in_topic == []
    assert t.successes + t.errors == t.sent
    # The producer recovered: what was sent well after the resume was delivered.
    settled = resumed + budget + 3
    late = [i for i in s.accepted if s.accepted_at[i] > settled]
    assert late, "the stream ended before the producer could show it recovered"
    failed = {e.msg.metadata for e in s.errors}
    assert not failed.intersection(late), sorted(failed.intersection(late))[:10]


@pytest.mark.timeout(180)
def test_idempotent_producer_recovers_after_a_message_expires(
        cluster3: KafkaCluster, topic3: Callable[..., str]) -> None:
    topic = topic3(1)
    c = config(idempotent=True, retry_max=1, timeout=1.0, backoff=0.1)
    budget = delivery_timeout(c)  # 2.2 s
    p = AsyncProducer(cluster3.bootstrap_servers, c)
    try:
        first = ProducerMessage(topic, value=b"before")
        p.input().send(first)
        assert select(p.successes().recv, p.errors().recv, timeout=60) == (0, first)
        leader = cluster3.leader_of(topic, 0)
        cluster3.stop(leader)
        during = ProducerMessage(topic, value=b"during")
        p.input().send(during)
        index, err = select(p.successes().recv, p.errors().recv, timeout=budget + 30)
        assert index == 1 and err.msg is during  # it expired: the leader is frozen
        cluster3.resume(leader)
        heal(cluster3, [topic])
        after = ProducerMessage(topic, value=b"after")
        p.input().send(after)
        # Delivered or failed, within its own delivery timeout: anything but silence.
        try:
            index, got = select(p.successes().recv, p.errors().recv, timeout=budget + 15)
        except TimeoutError:
            pytest.fail(f"a message sent after the outage got no result in {budget + 15:g} s")
        assert (index, got) == (0, after), got
    finally:
        p.close()  # nothing left in flight: would raise ProducerErrors otherwise
