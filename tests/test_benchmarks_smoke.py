"""Smoke tests of every benchmark: ``benchmarks/channels.py``, ``aio.py`` and ``peers.py``
(on the session broker) run ``--quick`` end to end and write valid JSON (and PNGs).

They check nothing about speed, only that each benchmark still runs against the current
gochan and producer APIs (and janus, kafka-python) and produces well-formed results.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gochan
from producer.testing import KafkaCluster

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "channels.py"


@pytest.mark.timeout(60)
def test_channels_benchmark_quick(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scale", "0.005", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "targets:" in proc.stdout

    data = json.loads((tmp_path / "channels.json").read_text(encoding="utf-8"))
    assert data["benchmark"] == "channels"
    for key in ("cpu_model", "cpu_count", "python_version"):
        assert data["machine"][key]
    expected = {
        "tput_cap0",
        "tput_cap1",
        "tput_cap16",
        "tput_cap256",
        "pingpong",
        "nbselect",
        "fanin",
        "m2m",
    }
    # Both builds where the compiled one is installed (each in child processes).
    builds = ["compiled", "pure"] if gochan.build_info()["build"] == "compiled" else ["pure"]
    assert list(data["builds"]) == builds
    for build in builds:
        result = data["builds"][build]
        assert result["build"]["build"] == build
        assert set(result["groups"]) == expected
        for group in result["groups"].values():
            for variant in group["variants"].values():
                assert len(variant["samples"]) == 1
                assert math.isfinite(variant["median"]) and variant["median"] > 0
        assert result["ratios"]
        for ratio in result["ratios"]:
            assert math.isfinite(ratio["ratio"]) and ratio["ratio"] > 0
            assert ratio["pass"] in (None, True, False)
    # 7 targets per build, and compiled/pure of a non-blocking select.
    assert data["targets_total"] == 7 * len(builds) + (len(builds) == 2)
    assert all(math.isfinite(r["ratio"]) for r in data["compiled_vs_pure"])
    assert (tmp_path / "channels.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(60)
def test_aio_benchmark_quick(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "aio.py"), "--quick", "--scale", "0.05",
         "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "targets:" in proc.stdout
    data = json.loads((tmp_path / "aio.json").read_text(encoding="utf-8"))
    assert data["benchmark"] == "aio"
    # Both builds where the compiled one is installed (each in child processes).
    builds = ["compiled", "pure"] if gochan.build_info()["build"] == "compiled" else ["pure"]
    assert list(data["builds"]) == builds
    for build in builds:
        result = data["builds"][build]
        assert result["build"]["build"] == build
        assert set(result["groups"]) == {
            "t2t_cap0",
            "t2t_cap1",
            "t2t_cap64",
            "thread2task_cap0",
            "thread2task_cap1",
            "thread2task_cap64",
        }
        for ratio in result["ratios"]:
            assert math.isfinite(ratio["median"]) and ratio["median"] > 0
    assert len(data["compiled_vs_pure"]) == (6 if len(builds) == 2 else 0)


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.timeout(240)
def test_peers_benchmark_quick(kafka_cluster: KafkaCluster, tmp_path: Path) -> None:
    """benchmarks/peers.py --quick runs end to end on the session broker (the Python peers;
    confluent-kafka and sarama only if installed) and writes its JSON and PNGs."""
    skip = ["sarama"]  # needs Go: the benchmark itself covers it
    if not _have("confluent_kafka"):
        skip.append("confluent-kafka")
    if not _have("matplotlib"):
        pytest.skip("matplotlib (a dev dependency) is not installed")
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               KAFKA_BOOTSTRAP_SERVERS=kafka_cluster.bootstrap_servers)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--quick",
                          "--skip", ",".join(skip), "--out-dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=220, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    data = json.loads((tmp_path / "peers.json").read_text())
    peers = {row["peer"]: row for row in data["peers"]}
    expected = {"AsyncProducer", "SyncProducer", "AsyncProducer-noaccel", "kafka-python"}
    if "confluent-kafka" not in skip:
        expected.add("confluent-kafka")
    if gochan.build_info()["build"] == "compiled":  # and the pure build beside it
        expected.add("AsyncProducer-pure")
    assert set(peers) == expected
    assert peers["AsyncProducer-noaccel"]["extra"]["accelerated"] is False
    assert isinstance(peers["AsyncProducer"]["threads_cpu_us_per_msg"], dict)  # 10 ms ticks
    for row in peers.values():
        assert row["msg_per_s"] > 0 and row["p50_ms"] > 0 and row["p99_ms"] >= row["p50_ms"]
        assert row["cpu_us_per_msg"] > 0
    assert peers["AsyncProducer"]["ratio_vs_async"] == 1.0
    assert "AsyncProducer" in out.stdout and "ratio" in out.stdout
    scaling = json.loads((tmp_path / "scaling.json").read_text())
    assert {row["size"] for row in scaling["by_size"]} == {10, 100, 1000, 10_000, 100_000}
    assert {row["partitions"] for row in scaling["by_partitions"]} == {1, 4, 16, 64}
    latency = json.loads((tmp_path / "latency.json").read_text())
    assert {row["peer"] for row in latency["latency"]} == expected - {
        "SyncProducer", "AsyncProducer-pure", "AsyncProducer-noaccel"}
    assert latency["workload"]["rate"] == 5000
    for row in latency["latency"]:
        assert row["p99_ms"] >= row["p50_ms"] > 0
    for name in ("peers.png", "latency.png", "scaling.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
