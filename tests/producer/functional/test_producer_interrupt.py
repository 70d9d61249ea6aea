"""Ctrl-C during an outage, and an unreachable bootstrap (issue 14, item 5)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from producer import Config, KafkaError, SyncProducer
from producer.testing import KafkaCluster

SCRIPT = Path(__file__).parent / "scripts" / "ctrl_c_during_outage.py"


def _read_until(stream: Any, pattern: str, lines: list[str], timeout: float) -> str:
    """Read lines from ``stream`` (appending them to ``lines``) until one matches."""
    found: list[str] = []

    def reader() -> None:
        for line in stream:
            lines.append(line)
            if re.search(pattern, line):
                found.append(line)
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if not found:
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s: {lines}")
    return found[0]


@pytest.mark.timeout(120)
def test_ctrl_c_twice_during_an_outage_says_what_close_waits_for_then_abandons(
        kafka_cluster: KafkaCluster, new_topic: Any, subprocess_env: dict[str, str]) -> None:
    topic = new_topic(partitions=1)
    node = kafka_cluster.brokers[0].node_id
    proc = subprocess.Popen([sys.executable, str(SCRIPT), kafka_cluster.bootstrap_servers,
                             topic], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=subprocess_env)
    out: list[str] = []
    err: list[str] = []
    frozen = False
    try:
        _read_until(proc.stdout, "^ready", out, 60)
        kafka_cluster.stop(node)  # SIGSTOP: the broker stops answering
        frozen = True
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(1.5)  # send_message now waits for the frozen broker
        os.kill(proc.pid, signal.SIGINT)
        said = _read_until(proc.stderr, "close\\(\\) is waiting for", err, 20)
        # Before: nothing was said, and close() waited out the ~32 s delivery timeout.
        assert re.search(
            r"log: WARNING producer: producer: close\(\) is waiting for 1 messages in flight "
            r"\(1 with the Kafka client, 0 queued\) to be acknowledged or to fail: at most "
            r"\d+s \(their delivery timeout of 40\.4s, producer\.retry\.max \+ 1 = 4 attempts "
            r"of producer\.timeout \+ retry\.backoff, plus 11s for a stuck client\); Ctrl-C "
            r"abandons the wait and reports them as failed", said), said
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=40)
    finally:
        if frozen:
            kafka_cluster.resume(node)
        if proc.poll() is None:
            proc.kill()
    out.append(stdout)
    err.append(stderr)
    text, logs = "".join(out), "".join(err)
    assert proc.returncode == 0, logs
    assert "delivered?!" not in text
    assert ("producer: close() interrupted: failing every undelivered message and "
            "stopping") in logs, logs
    assert (f"log: ERROR producer: producer: close() abandoned: 1 undelivered messages to "
            f"{topic} partition 0 failed (they may or may not have been written)") in logs, logs
    assert "threads left: []" in text, text + logs
    assert "released: True" in text, text  # the interrupted send_message's object
    waited = float(re.search(r"interrupted after (\d+\.\d)s", text).group(1))  # type: ignore[union-attr]
    assert waited < 40.4  # it did not wait out the delivery timeout


@pytest.mark.timeout(60)
def test_an_unreachable_bootstrap_fails_after_dial_timeout_naming_it() -> None:
    import socket

    with socket.socket() as s:  # a free loopback port: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = Config()
    config.producer.return_successes = True
    config.net.dial_timeout = 1.5
    with pytest.raises(KafkaError) as info:
        SyncProducer(f"127.0.0.1:{port}", config)
    assert (f"kafka: client has run out of available brokers to talk to (127.0.0.1:{port}): "
            "none answered within net.dial_timeout (sarama: Net.DialTimeout) = 1.5s: ") \
        in str(info.value)
