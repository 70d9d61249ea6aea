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


def test_setup_falls_back_to_pure_when_mypyc_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: mypyc reports a type error in the hot modules with ``sys.exit(1)``; the
    install must still go on with the pure build instead of failing."""
    import importlib.util

    import mypyc.build

    def mypycify_exits(*args: object, **kwargs: object) -> None:
        sys.exit(1)

    spec = importlib.util.spec_from_file_location(
        "gochan_setup", Path(__file__).resolve().parents[1] / "setup.py")
    assert spec is not None and spec.loader is not None
    setup_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup_py)  # not __main__: defines, does not run setup()
    monkeypatch.setattr(mypyc.build, "mypycify", mypycify_exits)
    monkeypatch.setenv("CC", sys.executable)  # any existing program: the check only finds it
    monkeypatch.delenv("GOCHAN_BUILD", raising=False)
    monkeypatch.chdir(tmp_path)  # write_tree's build/ directory
    assert setup_py.native_extensions() == []
    assert "mypyc failed (SystemExit: 1)" in capsys.readouterr().err
