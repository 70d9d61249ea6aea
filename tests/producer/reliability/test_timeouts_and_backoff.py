"""``producer.retry.backoff_func`` and ``net.read_timeout`` against a paused broker on the
three-node cluster (issue 16; the other fields' effects are in
``tests/producer/functional/test_config_effects.py``).

- ``backoff_func``: a follower of a ``min.insync.replicas=3`` partition is paused until
  the controller drops it from the ISR; every attempt then fails at once with
  NOT_ENOUGH_REPLICAS, so the times between attempts (kafka-python logs each failed one)
  are the backoffs: ``backoff_func(1, max)``, ``(2, max)``, ...
- ``read_timeout``: the partition's leader is paused, so the request stalls; the message
  fails once ``net.read_timeout`` has passed, well before ``producer.timeout``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from reliability_helpers import paused, wait_for

from producer import BrokerError, Config, ProducerMessage, RequiredAcks, SyncProducer
from producer.testing import KafkaCluster

BACKOFF_STEP = 0.4  # backoff_func(retries, max) = BACKOFF_STEP * retries
FIXED_BACKOFF = 0.6  # retry.backoff, for the test without backoff_func
SLACK = 0.05  # timer granularity: a wait may end this much early on the clock we read


class _Attempts(logging.Handler):
    """The times kafka-python logs a failed attempt it will retry."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "Got error produce response" in record.getMessage() and "retrying" in \
                record.getMessage():
            self.times.append(time.monotonic())


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("func", [True, False], ids=["backoff_func", "fixed-backoff"])
def test_backoff_func_sets_the_time_between_attempts(cluster3: KafkaCluster,
                                                     topic3: Callable[..., str],
                                                     func: bool) -> None:
    """With ``backoff_func`` the waits grow (0.4, 0.8, 1.2 s); without it each is
    ``retry.backoff`` (here 0.6 s)."""
    topic = topic3(1, 3, 3)
    c = Config()
    c.producer.return_successes = True
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.producer.timeout = 5.0
    c.producer.retry.max = 3
    if func:
        c.producer.retry.backoff = 0.01  # backoff_func takes precedence, as in sarama
        c.producer.retry.backoff_func = lambda retries, maximum: BACKOFF_STEP * retries
    else:
        c.producer.retry.backoff = FIXED_BACKOFF
    c.net.dial_timeout = 10.0
    attempts = _Attempts()
    logger = logging.getLogger("kafka.producer.sender")
    with SyncProducer(cluster3.bootstrap_servers, c) as p:
        p.send_message(ProducerMessage(topic, value=b"before"))  # connected, metadata known
        part = cluster3.partitions(topic)[0]
        follower = next(n for n in part["replica_nodes"] if n != int(part["leader_id"]))
        with paused(cluster3, follower):
            wait_for(lambda: follower not in cluster3.partitions(topic, timeout=5)[0][
                "isr_nodes"], 60, f"node {follower} out of the ISR")
            logger.addHandler(attempts)
            try:
                with pytest.raises(BrokerError, match="NotEnoughReplicas") as failed:
                    p.send_message(ProducerMessage(topic, value=b"during"))
                done = time.monotonic()
            finally:
                logger.removeHandler(attempts)
    assert failed.value.retriable
    t = attempts.times
    assert len(t) == 3, t  # attempts 1-3 were retried; the 4th failed for good
    gaps = [b - a for a, b in zip([*t, done], [*t, done][1:], strict=False)]
    for retries, gap in enumerate(gaps, 1):
        wait = BACKOFF_STEP * retries if func else FIXED_BACKOFF
        assert gap >= wait - SLACK, (retries, gaps)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_read_timeout_fails_a_stalled_request_before_producer_timeout(
        cluster3: KafkaCluster, topic3: Callable[..., str]) -> None:
    topic = topic3(1, 3, 1)
    c = Config()
    c.producer.return_successes = True
    c.producer.timeout = 20.0  # the broker's wait: far longer than the read timeout
    c.producer.retry.max = 0
    c.net.read_timeout = 1.5
    c.net.dial_timeout = 10.0
    with SyncProducer(cluster3.bootstrap_servers, c) as p:
        p.send_message(ProducerMessage(topic, value=b"before"))
        with paused(cluster3, cluster3.leader_of(topic, 0)):
            start = time.monotonic()
            with pytest.raises(BrokerError) as failed:
                p.send_message(ProducerMessage(topic, value=b"during"))
            took = time.monotonic() - start
    assert failed.value.retriable, repr(failed.value)
    assert any(w in str(failed.value) for w in ("RequestTimedOut", "Expiring")), \
        repr(failed.value)
    # The stall ended the request at net.read_timeout; producer.timeout would be 20 s.
    assert took < c.producer.timeout / 2, took
