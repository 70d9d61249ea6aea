"""Functional tests of producer.testing: ports, teardown, sources, errors, 3-node faults."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from kafka_helpers import kafka_jvms, pid_alive, wait_until_gone

import producer.testing._jars as jars
from producer.testing import (
    BrokerStartError,
    JarFetchError,
    KafkaCluster,
    LocalCluster,
    UnsupportedOperationError,
    docker_available,
    local_kafka,
    resolve_source,
)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_two_clusters_get_different_ports_and_teardown_leaves_no_jvm() -> None:
    with local_kafka(source="jars") as a, local_kafka(source="jars") as b:
        assert isinstance(a, LocalCluster) and isinstance(b, LocalCluster)
        ports_a = {a.brokers[0].port, a.brokers[0].controller_port}
        ports_b = {b.brokers[0].port, b.brokers[0].controller_port}
        assert len(ports_a) == 2 and len(ports_b) == 2
        assert not ports_a & ports_b
        assert a.bootstrap_servers != b.bootstrap_servers
        assert a.bootstrap_servers.startswith("127.0.0.1:")
        assert a.live_broker_ids() == {1} and b.live_broker_ids() == {1}
        pids = [n.pid for n in (*a.brokers, *b.brokers)]
        assert all(p is not None and pid_alive(p) for p in pids)
        workdirs = [a.workdir, b.workdir]
        assert all(w is not None and w.is_dir() for w in workdirs)
        jvms = kafka_jvms()
        for w in workdirs:
            assert any(str(w) in cmd for cmd in jvms.values())

    assert wait_until_gone(p for p in pids if p is not None) == []
    leftovers = {pid: cmd for pid, cmd in kafka_jvms().items()
                 if any(str(w) in cmd for w in workdirs)}
    assert leftovers == {}
    assert not any(w is not None and w.exists() for w in workdirs)


@pytest.mark.timeout(120)
def test_kafka_bootstrap_servers_is_honoured(kafka_cluster: KafkaCluster,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_cluster.bootstrap_servers)
    before = set(kafka_jvms())
    with local_kafka() as cluster:
        assert cluster.source == "external"
        assert cluster.bootstrap_servers == kafka_cluster.bootstrap_servers
        assert set(kafka_jvms()) == before  # nothing was started
        assert {b.port for b in cluster.brokers} == {b.port for b in kafka_cluster.brokers}
        for op in (cluster.stop, cluster.resume, cluster.kill, cluster.restart):
            with pytest.raises(UnsupportedOperationError, match="KAFKA_BOOTSTRAP_SERVERS"):
                op(1)
        topic = f"external-{os.getpid()}-{time.monotonic_ns()}"
        cluster.create_topic(topic, partitions=2)
        assert len(kafka_cluster.partitions(topic)) == 2
    assert set(kafka_jvms()) == before


@pytest.mark.timeout(60)
def test_unreachable_kafka_bootstrap_servers_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    with pytest.raises(BrokerStartError, match="no broker answered"), \
            local_kafka(start_timeout=3):
        pass


def test_source_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_HARNESS_SOURCE", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert resolve_source(None, 1) == "external"
    assert resolve_source("local", 1) == "jars"
    assert resolve_source("jars", 1) == "jars"
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    assert resolve_source(None, 1) == "jars"
    assert resolve_source(None, 3) == "jars"
    with pytest.raises(BrokerStartError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        resolve_source("external", 1)
    with pytest.raises(ValueError):
        resolve_source("podman", 1)


def test_no_docker_is_detected_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    t0 = time.monotonic()
    assert docker_available() is False
    assert time.monotonic() - t0 < 3


def test_plugin_import_is_cheap_and_starts_nothing() -> None:
    # The plugin's own imports only: whatever the parent package `producer` imports is
    # imported first (the plugin lives inside it) and is not counted.
    code = textwrap.dedent("""
        import sys, threading
        import producer
        before = set(sys.modules)
        import producer.testing.pytest_plugin
        new = set(sys.modules) - before
        heavy = [m for m in ("kafka", "docker", "testcontainers", "tqdm") if m in new]
        print(heavy, threading.active_count())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["[]", "1"]


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_start_failure_reports_the_log_tail(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # failed starts keep their logs
    with pytest.raises(BrokerStartError) as info, \
            local_kafka(source="jars", num_partitions="many", start_timeout=60):
        pass
    assert "num.partitions" in str(info.value)
    assert "many" in str(info.value)


def test_missing_java_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrokerStartError, match="java not found"), \
            local_kafka(source="jars"):
        pass


def test_missing_maven_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KAFKA_JARS_DIR", str(tmp_path / "jars"))
    with pytest.raises(JarFetchError, match="mvn not found"):
        jars.ensure_kafka_jars()


def _fake_mvn(bin_dir: Path, calls: Path, exit_code: int = 0) -> None:
    """An ``mvn`` that records its call, takes a while, and writes a fake Kafka jar."""
    bin_dir.mkdir()
    script = bin_dir / "mvn"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo call >> {calls}
        sleep 1
        [ {exit_code} -eq 0 ] || {{ echo "Could not transfer artifact: Connection refused"; \
exit {exit_code}; }}
        for arg in "$@"; do
          case "$arg" in -DoutputDirectory=*) out="${{arg#-DoutputDirectory=}}";; esac
        done
        mkdir -p "$out" && touch "$out/kafka_2.13-4.4.0.jar" "$out/kafka-clients-4.4.0.jar"
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_concurrent_fetches_run_maven_once(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    _fake_mvn(tmp_path / "bin", calls)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("KAFKA_JARS_DIR", raising=False)
    monkeypatch.setattr(jars, "cache_root", lambda: tmp_path / "cache")
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(jars.ensure_kafka_jars("9.9.9")))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert calls.read_text().count("call") == 1
    assert results == [tmp_path / "cache" / "9.9.9" / "libs"] * 3
    assert (results[0] / "kafka_2.13-4.4.0.jar").exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [".9.9.9.lock", "9.9.9"]


def test_kafka_jars_dir_override_is_fetched_into_once(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    _fake_mvn(tmp_path / "bin", calls)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KAFKA_JARS_DIR", str(tmp_path / "jars"))
    assert jars.ensure_kafka_jars() == tmp_path / "jars"
    assert jars.ensure_kafka_jars() == tmp_path / "jars"
    assert calls.read_text().count("call") == 1
    assert (tmp_path / "jars" / "kafka_2.13-4.4.0.jar").exists()


def test_maven_failure_leaves_no_partial_cache(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    _fake_mvn(tmp_path / "bin", tmp_path / "calls", exit_code=1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("KAFKA_JARS_DIR", raising=False)
    monkeypatch.setattr(jars, "cache_root", lambda: tmp_path / "cache")
    with pytest.raises(JarFetchError, match="Maven Central looks unreachable"):
        jars.ensure_kafka_jars("9.9.9")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".9.9.9.lock"]


@pytest.mark.timeout(240)
def test_three_node_cluster_survives_stop_and_kill(kafka_cluster3: KafkaCluster) -> None:
    cluster = kafka_cluster3
    assert [b.node_id for b in cluster.brokers] == [1, 2, 3]
    assert len({b.port for b in cluster.brokers}) == 3
    assert cluster.live_broker_ids() == {1, 2, 3}
    topic = f"faults-{time.monotonic_ns()}"
    cluster.create_topic(topic, partitions=1, replication_factor=3)
    leader = cluster.leader_of(topic, 0)
    assert leader in (1, 2, 3)

    # SIGSTOP the leader: the others fence it and elect a new leader.
    cluster.stop(leader)
    assert cluster.node(leader).state == "stopped"
    _wait_for(lambda: leader not in cluster.live_broker_ids(timeout=10)
              and cluster.leader_of(topic, 0) not in (leader, -1), 60, "leader fenced")
    cluster.resume(leader)
    cluster.wait_for_brokers(timeout=60)

    # SIGKILL another node, then restart it on the same ports and log dirs.
    victim = next(b for b in cluster.brokers if b.node_id != leader)
    old_pid, port = victim.pid, victim.port
    cluster.kill(victim.node_id)
    assert old_pid is not None and not pid_alive(old_pid)
    _wait_for(lambda: victim.node_id not in cluster.live_broker_ids(timeout=10), 60,
              "killed node fenced")
    cluster.restart(victim.node_id)
    assert victim.pid not in (None, old_pid) and victim.port == port
    assert cluster.live_broker_ids() == {1, 2, 3}
    assert cluster.leader_of(topic, 0) in (1, 2, 3)


def _wait_for(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except Exception:  # metadata requests may time out while a node is frozen
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(0.3)


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_broker_that_dies_at_start_reports_its_log(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # failed starts keep their logs
    with pytest.raises(BrokerStartError) as info, \
            local_kafka(source="jars", jvm_opts=["-XX:+NoSuchJvmFlag"], start_timeout=60):
        pass
    msg = str(info.value)
    assert "exited with code" in msg and "broker.log" in msg
    assert "NoSuchJvmFlag" in msg


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_port_conflict_is_retried_with_new_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import producer.testing._local as cluster_mod

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    real_free_ports = cluster_mod.free_ports
    calls = []

    def first_one_busy(n: int) -> list[int]:
        ports = real_free_ports(n)
        calls.append(ports)
        return [busy_port, *ports[1:]] if len(calls) == 1 else ports

    monkeypatch.setattr(cluster_mod, "free_ports", first_one_busy)
    try:
        with local_kafka(source="jars") as cluster:
            assert len(calls) == 2
            assert cluster.brokers[0].port != busy_port
            assert cluster.live_broker_ids() == {1}
    finally:
        busy.close()


pytest_plugins = ["pytester"]


@pytest.mark.timeout(120)
def test_fixture_fails_not_skips_when_the_broker_cannot_start(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("KAFKA_HARNESS_SOURCE", "jars")
    monkeypatch.setenv("PATH", str(pytester.path))  # no java, no mvn
    pytester.makepyfile(test_needs_broker="""
        def test_a(kafka_cluster):
            pass

        def test_b(new_topic):
            new_topic()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines(["*could not start a 1-node Kafka cluster: java not found*"])
    assert "skipped" not in result.stdout.str()


@pytest.mark.timeout(60)
def test_broker_marker_is_added_to_fixture_users(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_markers="""
        def test_uses_cluster(kafka_cluster): pass
        def test_uses_topic(new_topic): pass
        def test_plain(): pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "broker",
                                           "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_uses_cluster*", "*test_uses_topic*",
                                 "*2/3 tests collected (1 deselected)*"])


def test_cluster_ids_are_kraft_uuids() -> None:
    import base64

    from producer.testing import random_cluster_id

    ids = [random_cluster_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_jvm_dies_with_a_killed_parent_and_outlives_the_starting_thread(
        subprocess_env: dict[str, str]) -> None:
    # The cluster is started from a thread that ends at once: PR_SET_PDEATHSIG watches the
    # forking *thread*, so the harness forks from a long-lived launcher thread instead.
    code = textwrap.dedent("""
        import sys, threading, time
        from producer.testing import local_kafka
        box = []
        def start():
            cm = local_kafka(source="jars")
            box.append((cm, cm.__enter__()))
        t = threading.Thread(target=start)
        t.start(); t.join()
        time.sleep(2)  # the starting thread is gone by now
        print(box[0][1].brokers[0].pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=subprocess_env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():  # "None": the JVM died with the starting thread
            proc.kill()
            pytest.fail(f"no live JVM pid, got {line!r}; stderr:\n"
                        f"{proc.stderr.read() if proc.stderr else ''}")
        jvm = int(line)
        assert pid_alive(jvm)
        proc.kill()  # SIGKILL: no atexit, no teardown; only the kernel can clean up
        proc.wait(30)
        assert wait_until_gone([jvm]) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_class_data_sharing_broker_is_started_as_a_warm_up(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import producer.testing._local as local_mod

    started: list[bool] = []

    def fake_start(self: LocalCluster) -> LocalCluster:
        started.append(self.warm_up)
        raise BrokerStartError("not started (test)")

    monkeypatch.setattr(local_mod, "cache_root", lambda: tmp_path / "cache")
    cluster = LocalCluster(1, cds=True)
    cluster._java = sys.executable  # only its path and `-version` output enter the cache key
    monkeypatch.setattr(local_mod, "java_version", lambda java: "17")
    cluster.libs = tmp_path / "libs"
    cluster.libs.mkdir()
    monkeypatch.setattr(LocalCluster, "start", fake_start)
    assert cluster._cds_archive() is None  # the warm-up failed: brokers start without one
    assert started == [True]
    assert not cluster.warm_up


@pytest.mark.broker
@pytest.mark.timeout(180)
def test_a_warm_up_broker_logs_no_address(caplog: pytest.LogCaptureFixture) -> None:
    cluster = LocalCluster(1, cds=False)
    cluster.warm_up = True
    with caplog.at_level("INFO", logger="producer.testing"):
        try:
            cluster.start()
        finally:
            cluster.close()
    [line] = [m for m in caplog.messages if "warm-up" in m]
    assert line.startswith("Kafka ") and "class-data sharing" in line
    assert not [m for m in caplog.messages if "ready at" in m]
    assert cluster.bootstrap_servers not in "\n".join(caplog.messages)
