"""Every ```python block of the README runs as written (the broker ones on the session broker)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _runnable(code: str) -> bool:
    """Blocks with an elided statement (a line of ``...``) or a 3-node cluster are sketches."""
    return not re.search(r"^\s*\.\.\.", code, re.M) and "brokers=3" not in code


@pytest.mark.parametrize(
    "code",
    [pytest.param(b, marks=pytest.mark.broker) if "local_kafka" in b else b
     for b in BLOCKS if _runnable(b)],
    ids=lambda b: b.strip().splitlines()[0][:50])
@pytest.mark.timeout(180)
def test_readme_example_runs(code: str, request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    if "local_kafka" in code:
        cluster: Any = request.getfixturevalue("kafka_cluster")
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})


def test_readme_has_examples() -> None:
    assert len([b for b in BLOCKS if _runnable(b)]) >= 4
