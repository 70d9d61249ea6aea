"""``python -m producer perf`` (sarama's kafka-producer-performance) as a subprocess, and
``benchmarks/peers.py --quick``'s smoke test is in ``tests/test_benchmarks_smoke.py``."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from producer._perf import parse_duration, percentiles
from producer.testing import KafkaCluster

REPO = Path(__file__).resolve().parents[3]
# sarama's line, per-message latency, no egress / in-flight fields.
SUMMARY = re.compile(
    r"(?P<sent>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mib>[\d.]+) MiB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<std>[\d.]+) ms stddev, (?P<p50>[\d.]+) ms 50th, "
    r"(?P<p75>[\d.]+) ms 75th, (?P<p95>[\d.]+) ms 95th, (?P<p99>[\d.]+) ms 99th, "
    r"(?P<p999>[\d.]+) ms 99.9th")


def _perf(env: dict[str, str], *args: str,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "producer", "perf", *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


# sarama's own line, from the producer's metrics (per-request latency).
METRICS = re.compile(
    r"metrics: (?P<sent>\d+) records sent, (?P<rate>[\d.]+) records/sec "
    r"\((?P<mib>[\d.]+) MiB/sec ingress, (?P<egress>[\d.]+) MiB/sec egress\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<std>[\d.]+) ms stddev, (?P<p50>[\d.]+) ms 50th, "
    r"(?P<p75>[\d.]+) ms 75th, (?P<p95>[\d.]+) ms 95th, (?P<p99>[\d.]+) ms 99th, "
    r"(?P<p999>[\d.]+) ms 99.9th, (?P<in_flight>\d+) total req\. in flight")


def _summary(out: subprocess.CompletedProcess[str]) -> dict[str, float]:
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout  # the summary, then sarama's metrics line
    m = SUMMARY.fullmatch(lines[0])
    assert m, lines[0]
    metrics = METRICS.fullmatch(lines[1])
    assert metrics, lines[1]
    figures = {k: float(v) for k, v in m.groupdict().items()}
    figures.update({f"metrics_{k}": float(v) for k, v in metrics.groupdict().items()})
    return figures


def _check_figures(s: dict[str, float], sent: int, size: int) -> None:
    assert s["sent"] == sent
    assert s["rate"] > 0
    assert s["mib"] == pytest.approx(s["rate"] * size / 2**20, abs=0.006)
    assert 0 < s["p50"] <= s["p75"] <= s["p95"] <= s["p99"] <= s["p999"]
    # sarama's metrics line: every record counted once (no retries here), per request
    assert s["metrics_sent"] == sent
    assert s["metrics_rate"] > 0 and s["metrics_egress"] > 0
    assert s["metrics_p50"] <= s["metrics_p75"] <= s["metrics_p95"] <= s["metrics_p999"]
    assert s["metrics_in_flight"] == 0


@pytest.mark.timeout(180)
def test_async_against_the_session_broker(kafka_cluster: KafkaCluster,
                                          subprocess_env: dict[str, str]) -> None:
    env = dict(subprocess_env, KAFKA_BOOTSTRAP_SERVERS=kafka_cluster.bootstrap_servers)
    out = _perf(env, "--message-load", "3000", "--message-size", "64", "--partitions", "2")
    _check_figures(_summary(out), 3000, 64)
    assert re.search(r"producing 3000 messages of 64 B to perf-\w+ at "
                     rf"{re.escape(kafka_cluster.bootstrap_servers)} \(async, acks=1, "
                     r"partitioner=round_robin", out.stderr), out.stderr
    assert "3.00k/3.00k" in out.stderr  # the tqdm bar, on stderr, finished


@pytest.mark.timeout(180)
def test_sync_routines_throttled_on_a_given_topic(kafka_cluster: KafkaCluster, new_topic,
                                                  subprocess_env: dict[str, str]) -> None:
    topic = new_topic(partitions=3)
    out = _perf(subprocess_env, "--brokers", kafka_cluster.bootstrap_servers, "--topic", topic,
                "--sync", "--routines", "4", "--message-load", "600", "--throughput", "1000",
                "--partitioner", "hash", "--required-acks", "-1", "--compression", "gzip",
                "--flush-frequency", "2ms", "--client-id", "perf-test")
    s = _summary(out)
    _check_figures(s, 600, 100)
    assert s["rate"] <= 1000 * 1.05  # paced: message i leaves at start + i / 1000 s
    assert f"to {topic} at" in out.stderr and "(sync, 4 routine(s), acks=-1" in out.stderr


@pytest.mark.timeout(120)
def test_a_failed_message_is_a_runtime_failure(kafka_cluster: KafkaCluster,
                                               subprocess_env: dict[str, str]) -> None:
    env = dict(subprocess_env, KAFKA_BOOTSTRAP_SERVERS=kafka_cluster.bootstrap_servers)
    out = _perf(env, "--message-load", "50", "--partitions", "2", "--partitioner", "manual",
                "--partition", "5")
    assert out.returncode == 69, out.stdout + out.stderr
    assert "ERROR: 50 message(s) failed; the first:" in out.stderr
    assert "invalid partition index" in out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--message-load", "0"], "--message-load must be greater than 0"),
    (["--message-size", "0"], "--message-size must be greater than 0"),
    (["--message-load", "2", "--sync", "--routines", "3"], "--routines must be greater than 0"),
    (["--partitioner", "manual"], "--partition must not be -1 for --partitioner manual"),
])
def test_usage_errors_exit_64(args: list[str], message: str,
                              subprocess_env: dict[str, str]) -> None:
    out = _perf(subprocess_env, "--brokers", "127.0.0.1:1", *args, timeout=60)
    assert out.returncode == 64, out.stdout + out.stderr
    assert f"ERROR: {message}" in out.stderr
    assert out.stdout == ""


def test_runtime_errors_exit_69(subprocess_env: dict[str, str]) -> None:
    out = _perf(subprocess_env, "--flush-messages", "5", "--flush-max-messages", "1",
                "--brokers", "127.0.0.1:1", timeout=60)
    assert out.returncode == 69, out.stderr
    assert "ERROR: Invalid configuration: " in out.stderr
    assert "producer.flush.max_messages" in out.stderr
    out = _perf(subprocess_env, "--brokers", "127.0.0.1:1", "--timeout", "500ms", timeout=60)
    assert out.returncode == 69, out.stderr
    assert "ERROR: no broker at 127.0.0.1:1 answered within 0.5 s" in out.stderr


def test_unparsable_flag_exits_2_as_go_flag_does(subprocess_env: dict[str, str]) -> None:
    out = _perf(subprocess_env, "--timeout", "ten seconds", timeout=60)
    assert out.returncode == 2
    assert "invalid duration 'ten seconds'" in out.stderr


def test_parse_duration() -> None:
    assert parse_duration("10s") == 10.0
    assert parse_duration("500ms") == pytest.approx(0.5)
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("250us") == pytest.approx(250e-6)
    assert parse_duration("0") == 0.0
    assert parse_duration("2.5") == 2.5
    for bad in ("", "s", "10x", "-1s", "-1", "1s2", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)


def test_percentiles() -> None:
    assert percentiles([]) == {}
    pct = percentiles([i / 1000 for i in range(1000, 0, -1)])  # 1..1000 ms, unsorted
    assert pct == {"p50": 501.0, "p75": 751.0, "p95": 951.0, "p99": 991.0, "p99.9": 1000.0}
