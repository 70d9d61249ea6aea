"""Where ``local_kafka()`` gets its broker (``resolve_source``): the jar JVMs whenever they can
start, Docker only when they cannot or when asked, one error naming both when neither can.

The probes (Java and Maven or cached jars; a Docker daemon) are faked: no Docker here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import producer.testing._source as source_mod
from producer.testing import BrokerStartError, resolve_source


def _probes(monkeypatch: pytest.MonkeyPatch, *, jars: bool, docker: bool) -> list[str]:
    """Fake both probes; returns the names of the probes called, in order."""
    calls: list[str] = []

    def jars_usable(kafka_version: str) -> tuple[bool, str]:
        calls.append("jars")
        return (True, "Java 17+ and Maven (fake)") if jars else (False, "java not found (fake)")

    def docker_available() -> bool:
        calls.append("docker")
        return docker

    monkeypatch.setattr(source_mod, "jars_usable", jars_usable)
    monkeypatch.setattr(source_mod, "docker_available", docker_available)
    return calls


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("KAFKA_HARNESS_SOURCE", raising=False)


@pytest.mark.parametrize("source", [None, "auto", "local"])
def test_jars_win_over_a_running_docker_daemon(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture,
                                               source: str | None) -> None:
    calls = _probes(monkeypatch, jars=True, docker=True)
    with caplog.at_level(logging.INFO, logger="producer.testing"):
        assert resolve_source(source, 1) == "jars"
    assert calls == ["jars"]  # Docker is not even asked
    assert ("Kafka broker source: local JVMs from the Maven jars, because Java 17+ and Maven "
            "(fake)") in caplog.messages


def test_docker_only_when_the_jvms_cannot_start(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    calls = _probes(monkeypatch, jars=False, docker=True)
    with caplog.at_level(logging.INFO, logger="producer.testing"):
        assert resolve_source(None, 1) == "docker"
    assert calls == ["jars", "docker"]
    [message] = [m for m in caplog.messages if m.startswith("Kafka broker source")]
    assert message.startswith("Kafka broker source: Docker")
    assert "java not found (fake)" in message


def test_neither_is_one_error_naming_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    _probes(monkeypatch, jars=False, docker=False)
    with pytest.raises(BrokerStartError) as info:
        resolve_source(None, 1)
    msg = str(info.value)
    assert "java not found (fake)" in msg
    assert "Java 17+ and Maven" in msg and "Docker" in msg and "KAFKA_BOOTSTRAP_SERVERS" in msg


def test_docker_when_asked_without_probing_the_jars(monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    calls = _probes(monkeypatch, jars=True, docker=False)
    with caplog.at_level(logging.INFO, logger="producer.testing"):
        assert resolve_source("docker", 1) == "docker"
        monkeypatch.setenv("KAFKA_HARNESS_SOURCE", "docker")
        assert resolve_source(None, 1) == "docker"
    assert calls == []
    assert any(m.startswith("Kafka broker source: Docker") and "asked for" in m
               for m in caplog.messages)


def test_several_brokers_are_always_jvms(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _probes(monkeypatch, jars=False, docker=True)
    assert resolve_source(None, 3) == "jars"  # the JVMs then fail saying what is missing
    assert "docker" not in calls


def test_bootstrap_servers_and_security_need_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _probes(monkeypatch, jars=False, docker=True)
    assert resolve_source(None, 1, "SSL") == "jars"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert resolve_source(None, 1) == "external"
    assert calls == []


def test_the_jar_probe_says_what_is_missing(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, no mvn
    usable, why = source_mod.jars_usable()
    assert not usable and "java not found" in why


def test_the_jar_probe_takes_cached_jars_for_maven(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "17.0.9"\' >&2\n')
    java.chmod(0o755)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))  # java 17, no mvn
    jars = tmp_path / "jars"
    monkeypatch.setenv("KAFKA_JARS_DIR", str(jars))
    usable, why = source_mod.jars_usable()
    assert not usable and "neither Maven" in why
    jars.mkdir()
    (jars / "kafka_2.13-4.0.0.jar").touch()
    usable, why = source_mod.jars_usable()
    assert usable and "cached" in why
