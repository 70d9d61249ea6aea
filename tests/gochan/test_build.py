"""The two builds of gochan's hot modules: which one loads, and that they report alike.

CI runs the whole gochan suite twice: on the compiled build (``GOCHAN_EXPECT_BUILD=compiled``)
and with ``GOCHAN_PURE=1`` (``GOCHAN_EXPECT_BUILD=pure``); the variable makes sure each run
really ran the build it is meant to test.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import gochan
from gochan import _build

SCRIPTS = Path(__file__).parent / "scripts"
GOCHAN_DIR = Path(gochan.__file__).parent


def test_build_info_names_the_loaded_build() -> None:
    info = gochan.build_info()
    expected = os.environ.get("GOCHAN_EXPECT_BUILD")
    if expected:
        assert info["build"] == expected, info
    if info["build"] == "compiled":
        assert info["compiled_by"].startswith("mypyc ")
        assert gochan._chan.__name__ == "gochan._native._chan"
    else:
        assert info["build"] == "pure" and info["reason"]
        assert gochan._chan.__file__ == str(GOCHAN_DIR / "_chan.py")


def test_each_hot_module_is_loaded_once() -> None:
    for name in _build.HOT:
        module = sys.modules[f"gochan.{name}"]
        assert getattr(gochan, name) is module
    assert gochan._select.Chan is gochan.Chan is gochan._aio.Chan
    assert gochan._deadlock._blocked is gochan._registry._blocked  # type: ignore[attr-defined]
    compiled = gochan.build_info()["build"] == "compiled"
    for name in _build.HOT:
        expected = f"gochan._native.{name}" if compiled else f"gochan.{name}"
        assert sys.modules[f"gochan.{name}"].__name__ == expected


def _run(args: list[str], *, pure: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GOCHAN_PURE"}
    if pure:
        env["GOCHAN_PURE"] = "1"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_gochan_pure_forces_the_pure_build() -> None:
    out = _run(["-c", "import gochan, sys; print(gochan.build_info()['reason'], "
                "gochan._chan.__file__, sorted(m for m in sys.modules if "
                "m.startswith('gochan._native.')))"], pure=True)
    assert out.stdout.split() == ["GOCHAN_PURE=1", str(GOCHAN_DIR / "_chan.py"), "[]"]


def _normalized(output: str) -> list[str]:
    """The report with durations masked; stall warnings sorted (the watchdog sees the
    goroutines in the order they parked) and the main thread's own warning dropped
    (whether the watchdog warns before the deadlock is found is a race)."""
    warnings, rest = output.split("--- dump\n", 1)
    rest = "\n".join(line for line in rest.splitlines() if not line.startswith("warning: "))
    text = "\n".join(sorted(warnings.splitlines())) + "\n--- dump\n" + rest
    return re.sub(r"\b\d+(\.\d+)?(ms|s)\b", "<t>", text).splitlines()


def test_reports_name_the_same_lines_and_channels_on_both_builds() -> None:
    script = SCRIPTS / "report_every_op.py"
    runs = {}
    for pure in (True, False):
        proc = _run([str(script)], pure=pure)
        assert proc.returncode == 0, proc.stderr
        runs[pure] = proc.stdout
    assert _normalized(runs[False]) == _normalized(runs[True])
    report = runs[False]
    lines = script.read_text().splitlines()
    for marker in ("send", "full-send", "range", "select", "nil", "main"):
        number = next(i for i, text in enumerate(lines, 1) if text.endswith(f"# @{marker}"))
        site = f"{script}:{number}: {lines[number - 1].strip()}"
        assert report.count(f'File "{script}", line {number},') == (2 if marker != "main" else 1)
        if marker != "main":
            assert report.count(site) == 1, (marker, report)  # its stall warning
    for marker in ("make-unbuffered", "make-full", "make-ranged", "make-left", "make-right",
                   "make-never"):
        number = next(i for i, text in enumerate(lines, 1) if text.endswith(f"# @{marker}"))
        assert f"made at {script}:{number}>" in report, marker


def test_hot_modules_import_each_other_relatively_and_the_rest_absolutely() -> None:
    # The compiled copies live in gochan._native: a relative import there reaches the
    # compiled sibling, an absolute one the module both builds share (gochan._errors).
    for name in _build.HOT:
        tree = ast.parse((GOCHAN_DIR / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                targets = [node.module] if node.module else [a.name for a in node.names]
                assert all(t in _build.HOT for t in targets), (name, targets)
            elif node.module and node.module.startswith("gochan"):
                assert node.module.split(".")[1] not in _build.HOT, (name, node.module)
