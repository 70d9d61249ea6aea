"""Fixtures for the producer tests (the broker fixtures come from the ``kafka_harness`` plugin)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fake_client import Fake

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for ``python -m producer`` subprocesses (repo on sys.path, unbuffered)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return env


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    """Producers built in the test talk to a :class:`fake_client.FakeClient` (no broker)."""
    return Fake(monkeypatch)
