"""``python -m producer broker`` and ``python -m producer demo`` as subprocesses."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from kafka_helpers import kafka_jvms, wait_until_gone

from producer.testing import ExternalCluster, KafkaCluster


def _children_jvms(parent: int) -> list[int]:
    pids = []
    for pid in kafka_jvms():
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[-1].split()[1])
        except OSError:
            continue
        if ppid == parent:
            pids.append(pid)
    return pids


@pytest.mark.broker
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_broker_command_prints_address_and_stops_cleanly(
        sig: signal.Signals, subprocess_env: dict[str, str]) -> None:
    # -X faulthandler: if it does not stop, SIGABRT makes it print every thread's stack.
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "producer", "broker"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env)
    stderr: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the broker is ready (or the command dies)
        m = re.fullmatch(r"KAFKA_BOOTSTRAP_SERVERS=(127\.0\.0\.1:\d+)\n", line)
        assert m, f"unexpected first line {line!r}; stderr:\n{''.join(stderr)}"
        cluster = ExternalCluster.connect(m.group(1), timeout=30)
        assert [b.node_id for b in cluster.brokers] == [1]
        jvms = _children_jvms(proc.pid)
        assert len(jvms) == 1

        proc.send_signal(sig)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            proc.wait(30)
            reader.join(5)
            pytest.fail(f"still running 60 s after {sig.name}; stderr:\n{''.join(stderr)}")
        assert rc == 0, "".join(stderr)
        assert wait_until_gone(jvms) == []
        assert proc.stdout.read() == ""  # the address was the only line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    assert "stopped" in "".join(stderr)


@pytest.mark.timeout(300)
def test_demo_against_the_session_broker(kafka_cluster: KafkaCluster,
                                         subprocess_env: dict[str, str]) -> None:
    env = dict(subprocess_env, KAFKA_BOOTSTRAP_SERVERS=kafka_cluster.bootstrap_servers)
    before = set(kafka_jvms())
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "producer", "demo"], capture_output=True,
                         text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RESULT: OK, all 20000 messages delivered" in out.stdout
    assert f"Kafka at {kafka_cluster.bootstrap_servers} (external)" in out.stdout
    for p in range(3):
        assert re.search(rf"partition {p}: (\d+) acknowledged, \1 consumed", out.stdout)
    assert "produce" in out.stderr  # the progress bars go to stderr
    assert set(kafka_jvms()) <= before  # the demo used the session broker
    assert time.monotonic() - t0 < 240
