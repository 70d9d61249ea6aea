"""The installed packages as tools outside this checkout see them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

USER_CODE = '''\
import gochan
import producer

ch: gochan.Chan[int] = gochan.Chan(1)
config: producer.Config = producer.Config()
wrong: int = producer.Config()  # the one error mypy must report
'''


@pytest.mark.timeout(300)
def test_mypy_finds_gochan_and_producer_from_another_project(tmp_path: Path) -> None:
    """Issue 14, item 6: in a ``make``-built (editable) environment, as in a normal install.

    setuptools' default editable install is an import hook that static tools cannot
    follow; the Makefile asks for a plain path (``editable_mode=compat``).
    """
    (tmp_path / "app.py").write_text(USER_CODE)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "app.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=280)
    report = out.stdout + out.stderr
    assert "import-not-found" not in report and "import-untyped" not in report, report
    assert report.splitlines()[0].startswith("app.py:6: error: Incompatible types"), report
    assert "Found 1 error in 1 file" in report, report
