"""Smoke test: ``benchmarks/aio.py --quick`` runs end to end and writes valid JSON.

It checks nothing about speed, only that the benchmark still runs against the
current gochan API (and janus) and produces well-formed results.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "benchmarks" / "aio.py"


@pytest.mark.timeout(60)
def test_aio_benchmark_quick(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scale", "0.05", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "targets:" in proc.stdout
    data = json.loads((tmp_path / "aio.json").read_text(encoding="utf-8"))
    assert data["benchmark"] == "aio"
    import gochan

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
