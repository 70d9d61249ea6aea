"""Running a demo command (``python -m gochan.demos`` / ``python -m producer.demos``) as a
user does, and checking the heading every lesson prints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def run_demos(package: str, name: str | None, summary: Callable[[str], str],
              load: Callable[[str], ModuleType],
              env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m PACKAGE [NAME]`` from the source tree; ``env`` entries set (or, with
    ``None``, remove) variables. Checks it succeeded and, for a lesson, its heading."""
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), child_env.get("PYTHONPATH")]))
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    args = [sys.executable, "-m", package, *([name] if name else [])]
    out = subprocess.run(args, capture_output=True, text=True, env=child_env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    if name:
        assert out.stdout.startswith(f"== {name}: {summary(name)}\n")
        explanation = (load(name).__doc__ or "").strip().splitlines()[2]
        assert f"\nWhy:\n  {explanation}\n" in out.stdout  # the module docstring
    return out
