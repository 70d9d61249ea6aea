"""gochan's stall warnings around a producer (issue 14, item 2): an idle producer is
quiet; a user's blocked ``input().send()`` warns, naming the channel nobody reads."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from producer_helpers import config

import gochan
from gochan import go
from producer import AsyncProducer, ProducerMessage, SyncProducer
from producer.testing import KafkaCluster

THRESHOLD = 0.3


@pytest.fixture
def stall_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The gochan warnings logged during the test, with a short threshold."""
    caplog.set_level(logging.WARNING, logger="gochan")
    previous = gochan.set_stall_warning(THRESHOLD)
    messages: list[str] = []
    try:
        yield messages
    finally:
        gochan.set_stall_warning(previous)
    messages.extend(r.getMessage() for r in caplog.records if r.name == "gochan")


def gochan_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gochan"]


def wait_for(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in gochan_warnings(caplog) if text in m]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no gochan warning with {text!r}; got {gochan_warnings(caplog)}")


def read_idle(ch: gochan.Chan[Any], into: list[Any]) -> None:
    """A well-behaved reader: its waits for results are idle waits too."""
    with gochan.idle_waits():
        into.extend(ch)


@pytest.mark.timeout(60)
def test_an_idle_healthy_producer_logs_no_stall_warning(
        kafka_cluster: KafkaCluster, new_topic: Any, caplog: pytest.LogCaptureFixture,
        stall_warnings: list[str]) -> None:
    topic = new_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    p = AsyncProducer(bootstrap, config(successes=True))
    got: list[ProducerMessage] = []
    errors: list[Any] = []
    readers = [go(read_idle, p.successes(), got), go(read_idle, p.errors(), errors)]
    with SyncProducer(bootstrap) as sync:
        sync.send_message(ProducerMessage(topic, value=b"warm-up"))  # metadata fetched
        caplog.clear()  # the first send may wait longer than the threshold for metadata
        for i in range(10):
            p.input().send(ProducerMessage(topic, value=b"%d" % i))
        sync.send_message(ProducerMessage(topic, value=b"sync"))
        deadline = time.monotonic() + 30
        while len(got) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(5 * THRESHOLD)  # idle: every stage waits for work
        sync.send_message(ProducerMessage(topic, value=b"sync again"))
    p.close()
    for r in readers:
        r.join(10)
    assert len(got) == 10 and not errors
    assert gochan_warnings(caplog) == []  # before: "AsyncProducer._collect ... blocked for"


@pytest.mark.timeout(90)
def test_a_blocked_input_send_says_nobody_reads_successes(
        kafka_cluster: KafkaCluster, new_topic: Any, caplog: pytest.LogCaptureFixture,
        stall_warnings: list[str]) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(cbs=1, successes=True))
    sent = 0

    def send_all() -> None:
        nonlocal sent
        for i in range(20):
            p.input().send(ProducerMessage(topic, value=b"%d" % i))  # @user-send
            sent += 1

    sender = go(send_all)
    warning = wait_for(caplog, "the producer is not taking input")
    assert "send_all" in warning and "[chan send] blocked for" in warning
    assert warning.endswith(
        "; the producer is not taking input: nobody reads its successes() (1 waiting); read "
        "successes() and errors(), or set config.producer.return_successes = False")
    # The result stage, stalled on successes(), says the same in its own words.
    stage = wait_for(caplog, "AsyncProducer._collect")
    assert stage.endswith(
        "; nobody reads the producer's successes(): read it (in a goroutine, or in one select "
        "with your sends), or set config.producer.return_successes = False")
    got = []
    while sent < 20 or len(got) < 20:
        value, ok = p.successes().recv_ok(timeout=30)
        assert ok
        got.append(value)
    sender.join(10)
    p.close()
    blocked = [m for m in gochan_warnings(caplog) if "blocked for" in m]
    assert blocked and all("; " in m.rpartition(", at ")[2] for m in blocked)  # each has a hint


@pytest.mark.timeout(90)
def test_a_blocked_input_send_says_nobody_reads_errors(
        kafka_cluster: KafkaCluster, new_topic: Any, caplog: pytest.LogCaptureFixture,
        stall_warnings: list[str]) -> None:
    topic = new_topic(partitions=1)
    p = AsyncProducer(kafka_cluster.bootstrap_servers, config(cbs=1, max_message_bytes=100))

    def send_all() -> None:
        for _ in range(10):
            p.input().send(ProducerMessage(topic, value=b"x" * 500))  # each fails at once

    sender = go(send_all)
    warning = wait_for(caplog, "the producer is not taking input")
    assert warning.endswith(
        "; the producer is not taking input: nobody reads its errors() (1 waiting); read "
        "errors(), or set config.producer.return_errors = False")
    dispatcher = wait_for(caplog, "AsyncProducer._dispatch")
    assert dispatcher.endswith(
        "; nobody reads the producer's errors(): read it, or set config.producer.return_errors "
        "= False to have failures logged instead")
    failed = [p.errors().recv(timeout=30) for _ in range(10)]
    assert all(e is not None for e in failed)
    sender.join(10)
    p.close()
