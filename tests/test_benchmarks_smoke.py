"""Smoke test: ``benchmarks/channels.py --quick`` runs end to end and writes valid JSON.

It checks nothing about speed, only that the benchmark still runs against the
current gochan API and produces well-formed results.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

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
    import gochan

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
