"""TLS, SASL and ACLs against secured real brokers (producer.testing security=...).

Every failure case must surface as an AuthenticationError at the constructor that
caused it, naming cause and fix, well within net.dial_timeout, after at most one
connection attempt by the Kafka client, leaving no thread behind.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from producer import (
    AsyncProducer,
    AuthenticationError,
    Config,
    ProducerMessage,
    SyncProducer,
)
from producer.testing import KafkaCluster, KafkaHarnessError, local_kafka
from producer.testing._security import ALICE_TOPIC_PREFIX, unsecured_token

DIAL_TIMEOUT = 10.0
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


@pytest.fixture(scope="module")
def sasl_plaintext() -> Iterator[KafkaCluster]:
    """SASL_PLAINTEXT without OAUTHBEARER and SCRAM-SHA-512 (the 'not enabled' cases)."""
    try:
        with local_kafka(security="SASL_PLAINTEXT", source="jars",
                         sasl_enabled_mechanisms="PLAIN,SCRAM-SHA-256") as cluster:
            yield cluster
    except KafkaHarnessError as exc:
        pytest.fail(f"could not start a SASL_PLAINTEXT cluster: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def ssl_only() -> Iterator[KafkaCluster]:
    try:
        with local_kafka(security="SSL", source="jars") as cluster:
            yield cluster
    except KafkaHarnessError as exc:
        pytest.fail(f"could not start an SSL cluster: {exc}", pytrace=False)


def _topic(cluster: KafkaCluster, prefix: str = ALICE_TOPIC_PREFIX) -> str:
    name = f"{prefix}{time.monotonic_ns()}"
    cluster.create_topic(name)
    return name


def _read_back(cluster: KafkaCluster, topic: str, expected: int) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    assert cluster.tls_sasl is not None
    consumer = KafkaConsumer(group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest",
                             bootstrap_servers=cluster.bootstrap_servers,
                             **cluster.tls_sasl.client_configs("admin"))
    got: list[bytes] = []
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        while len(got) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.extend(r.value for r in records)
    finally:
        consumer.close()
    return got


def _produce(addrs: str, config: Config, topic: str, values: list[bytes]) -> None:
    config.producer.return_successes = True
    producer = AsyncProducer(addrs, config)
    try:
        for v in values:
            producer.input().send(ProducerMessage(topic, value=v))
        for _ in values:
            _, i, item = _recv_result(producer)
            assert i == 0, f"a message failed: {item}"
    finally:
        producer.close()


def _recv_result(producer: AsyncProducer) -> tuple[Any, int, Any]:
    from gochan import select

    i, item = select(producer.successes().recv, producer.errors().recv)
    return producer, i, item


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_each_mechanism_produces_and_reads_back(kafka_cluster_sasl_ssl: KafkaCluster,
                                                mechanism: str) -> None:
    cluster = kafka_cluster_sasl_ssl
    topic = _topic(cluster)
    values = [f"{mechanism}-{i}".encode() for i in range(20)]
    _produce(cluster.bootstrap_servers, cluster.producer_config("alice", mechanism), topic,
             values)
    assert sorted(_read_back(cluster, topic, len(values))) == sorted(values)


@pytest.mark.timeout(120)
def test_sasl_plaintext_and_ssl_clusters_serve_producers(
        sasl_plaintext: KafkaCluster, ssl_only: KafkaCluster) -> None:
    assert sasl_plaintext.ca_file is None and set(sasl_plaintext.users) == {"admin", "alice"}
    assert ssl_only.ca_file is not None and ssl_only.users == {}
    for cluster, mechanism in ((sasl_plaintext, "SCRAM-SHA-256"), (ssl_only, "PLAIN")):
        topic = _topic(cluster)
        values = [b"a", b"b", b"c"]
        _produce(cluster.bootstrap_servers, cluster.producer_config("alice", mechanism),
                 topic, values)
        assert sorted(_read_back(cluster, topic, 3)) == values


# -- failures: (cluster fixture, how to break the config, what the error must say) --------


def _wrong_password(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "SCRAM-SHA-256")
    cfg.net.sasl.password = "not-" + cfg.net.sasl.password
    return c.bootstrap_servers, cfg


def _wrong_password_plain(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "PLAIN")
    cfg.net.sasl.password = "not-" + cfg.net.sasl.password
    return c.bootstrap_servers, cfg


def _unknown_user(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "SCRAM-SHA-512")
    cfg.net.sasl.user = "mallory"
    return c.bootstrap_servers, cfg


def _mechanism_not_enabled(c: KafkaCluster) -> tuple[str, Config]:
    return c.bootstrap_servers, c.producer_config("alice", "SCRAM-SHA-512")


def _oauth_not_enabled(c: KafkaCluster) -> tuple[str, Config]:
    return c.bootstrap_servers, c.producer_config("alice", "OAUTHBEARER")


def _tls_against_plaintext(c: KafkaCluster) -> tuple[str, Config]:
    cfg = Config()
    cfg.net.tls.enable = True
    return c.bootstrap_servers, cfg


def _tls_against_sasl_plaintext(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "PLAIN")
    cfg.net.tls.enable = True
    return c.bootstrap_servers, cfg


def _plaintext_against_tls(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "PLAIN")
    cfg.net.tls.enable = False
    cfg.net.tls.config = None
    return c.bootstrap_servers, cfg


def _no_sasl_against_sasl(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "PLAIN")
    cfg.net.sasl.enable = False
    cfg.net.sasl.user = cfg.net.sasl.password = ""
    return c.bootstrap_servers, cfg


def _sasl_against_ssl(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config()
    cfg.net.sasl.enable = True
    cfg.net.sasl.user, cfg.net.sasl.password = "alice", "a-password-of-some-length"
    return c.bootstrap_servers, cfg


def _untrusted_ca(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "PLAIN")
    cfg.net.tls.config = None  # the system's CAs do not include the test CA
    return c.bootstrap_servers, cfg


def _hostname_mismatch(c: KafkaCluster) -> tuple[str, Config]:
    # The certificate names 127.0.0.1 only; "localhost" reaches the same listener.
    return c.bootstrap_servers.replace("127.0.0.1", "localhost"), c.producer_config("alice")


def _expired_token(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "OAUTHBEARER")
    cfg.net.sasl.token_provider = lambda: unsecured_token("alice", -120)
    return c.bootstrap_servers, cfg


def _failing_token_provider(c: KafkaCluster) -> tuple[str, Config]:
    cfg = c.producer_config("alice", "OAUTHBEARER")

    def provider() -> str:
        raise RuntimeError("identity provider unreachable")

    cfg.net.sasl.token_provider = provider
    return c.bootstrap_servers, cfg


CASES = [
    ("kafka_cluster_sasl_ssl", _wrong_password,
     r"SCRAM-SHA-256 authentication of user 'alice' .* failed \(.*invalid credentials.*\): "
     r"check net.sasl.user and net.sasl.password"),
    ("kafka_cluster_sasl_ssl", _wrong_password_plain,
     r"PLAIN authentication of user 'alice' .* failed \(.*Invalid username or password.*\)"),
    ("kafka_cluster_sasl_ssl", _unknown_user,
     r"SCRAM-SHA-512 authentication of user 'mallory' .* failed .*: check net.sasl.user"),
    ("sasl_plaintext", _mechanism_not_enabled,
     r"does not enable SASL mechanism SCRAM-SHA-512 \(it enables \['PLAIN', "
     r"'SCRAM-SHA-256'\]\): set net.sasl.mechanism"),
    ("sasl_plaintext", _oauth_not_enabled, r"does not enable SASL mechanism OAUTHBEARER"),
    ("kafka_cluster", _tls_against_plaintext,
     r"TLS to .* the port is probably not a TLS listener .*set net.tls.enable "
     r"\(sarama: Net.TLS.Enable\) = False"),
    ("sasl_plaintext", _tls_against_sasl_plaintext, r"probably not a TLS listener"),
    ("kafka_cluster_sasl_ssl", _plaintext_against_tls,
     r"(answered with TLS|probably a TLS listener).*set net.tls.enable "
     r"\(sarama: Net.TLS.Enable\) = True"),
    ("kafka_cluster_sasl_ssl", _no_sasl_against_sasl,
     r"requires SASL authentication .*set net.sasl.enable"),
    ("ssl_only", _sasl_against_ssl, r"is not a SASL listener: set net.sasl.enable"),
    ("kafka_cluster_sasl_ssl", _untrusted_ca,
     r"certificate is not trusted \(.*\): give net.tls.config"),
    ("kafka_cluster_sasl_ssl", _hostname_mismatch,
     r"certificate is not valid for 'localhost' \(.*mismatch.*\)"),
    ("kafka_cluster_sasl_ssl", _expired_token,
     r"OAUTHBEARER authentication .* failed: the token from net.sasl.token_provider expired "
     r"1\d\d s ago .*: net.sasl.token_provider must return a fresh token"),
    ("kafka_cluster_sasl_ssl", _failing_token_provider,
     r"net.sasl.token_provider raised RuntimeError: identity provider unreachable: fix"),
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def debug_logs() -> Iterator[_Records]:
    """Every record of the producer, gochan and kafka loggers at DEBUG and above."""
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("producer", "gochan", "kafka")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def _secrets_of(config: Config) -> list[str]:
    found = [config.net.sasl.password] if config.net.sasl.password else []
    provider = config.net.sasl.token_provider
    if provider is not None:
        try:
            found.append(provider())
        except Exception:
            pass
    return found


def _assert_no_leak(secrets: list[str], texts: list[str]) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a credential leaked into: {text[:300]}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("fixture", "breaks", "expected"), CASES,
                         ids=[c[1].__name__.lstrip("_") for c in CASES])
@pytest.mark.parametrize("kind", [AsyncProducer, SyncProducer], ids=["async", "sync"])
def test_misconfigured_security_is_a_clear_error_at_the_constructor(
        request: pytest.FixtureRequest, debug_logs: _Records, fixture: str, breaks: Any,
        expected: str, kind: type) -> None:
    cluster: KafkaCluster = request.getfixturevalue(fixture)
    first_record = len(debug_logs.records)
    addrs, config = breaks(cluster)
    config.net.dial_timeout = DIAL_TIMEOUT
    if kind is SyncProducer:
        config.producer.return_successes = True
    before = set(threading.enumerate())
    t0 = time.monotonic()
    with pytest.raises(AuthenticationError, match=expected) as info:
        kind(addrs, config)
    elapsed = time.monotonic() - t0
    assert elapsed < DIAL_TIMEOUT / 2, f"took {elapsed:.1f}s"
    # No retry storm: the Kafka client never started bootstrapping (the check refused first).
    ours = debug_logs.records[first_record:]
    assert not [r for r in ours if "Attempting bootstrap" in r.getMessage()]
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) - before == set()
    texts = [str(info.value), repr(info.value), repr(config)]
    texts += [r.getMessage() for r in debug_logs.records]
    _assert_no_leak(_secrets_of(config), texts)
    print(f"{request.node.callspec.id}: {elapsed * 1000:.0f} ms: {info.value}")


@pytest.mark.timeout(120)
def test_alice_without_write_fails_per_message_while_her_topic_succeeds(
        kafka_cluster_sasl_ssl: KafkaCluster) -> None:
    cluster = kafka_cluster_sasl_ssl
    allowed = _topic(cluster)
    denied = _topic(cluster, prefix="not-alice-")
    config = cluster.producer_config("alice", "SCRAM-SHA-512")
    config.producer.return_successes = True
    producer = AsyncProducer(cluster.bootstrap_servers, config)
    sent = []
    try:
        for i in range(10):
            for topic in (allowed, denied):
                msg = ProducerMessage(topic, value=b"%d" % i)
                sent.append(msg)
                producer.input().send(msg)
        successes, errors = [], []
        for _ in sent:
            _, i, item = _recv_result(producer)
            (successes if i == 0 else errors).append(item)
    finally:
        producer.async_close()
        for _ in producer.successes():
            pass
        for _ in producer.errors():
            pass
    assert sorted(m.topic for m in successes) == [allowed] * 10
    assert sorted(e.msg.topic for e in errors) == [denied] * 10
    for e in errors:
        assert "TopicAuthorization" in str(e), str(e)
    assert sorted(_read_back(cluster, allowed, 10)) == sorted(b"%d" % i for i in range(10))


@pytest.mark.timeout(120)
def test_token_provider_is_called_again_when_the_token_expires(
        kafka_cluster_sasl_ssl: KafkaCluster) -> None:
    cluster = kafka_cluster_sasl_ssl
    topic = _topic(cluster)
    calls: list[float] = []
    lifetime = 4.0

    def provider() -> str:
        calls.append(time.monotonic())
        return unsecured_token("alice", lifetime)

    config = cluster.producer_config("alice", "OAUTHBEARER")
    config.net.sasl.token_provider = provider
    config.producer.return_successes = True
    producer = SyncProducer(cluster.bootstrap_servers, config)
    try:
        producer.send_message(ProducerMessage(topic, value=b"before"))
        first = len(calls)
        time.sleep(lifetime + 2)  # the broker makes the connection re-authenticate
        producer.send_message(ProducerMessage(topic, value=b"after"))
    finally:
        producer.close()
    assert len(calls) > first, calls
    assert sorted(_read_back(cluster, topic, 2)) == [b"after", b"before"]


@pytest.mark.timeout(120)
def test_credentials_never_leak_into_logs_reprs_or_errors(
        kafka_cluster_sasl_ssl: KafkaCluster, debug_logs: _Records) -> None:
    cluster = kafka_cluster_sasl_ssl
    topic = _topic(cluster)
    denied = _topic(cluster, prefix="not-alice-")
    texts: list[str] = []
    secrets: list[str] = []
    for mechanism in MECHANISMS:
        config = cluster.producer_config("alice", mechanism)
        config.producer.return_successes = True
        secrets += _secrets_of(config)
        producer = AsyncProducer(cluster.bootstrap_servers, config)
        try:
            producer.input().send(ProducerMessage(topic, value=b"ok"))
            producer.input().send(ProducerMessage(denied, value=b"denied"))
            for _ in range(2):
                _, _, item = _recv_result(producer)
                texts += [str(item), repr(item)]
        finally:
            try:
                producer.close()
            except Exception as exc:
                texts += [str(exc), repr(exc)]
        texts += [repr(config), str(config), repr(config.net.sasl), repr(producer)]
    texts += [r.getMessage() for r in debug_logs.records]
    texts += [str(r.args) for r in debug_logs.records]
    assert any(r.levelno == logging.DEBUG and r.name.startswith("kafka")
               for r in debug_logs.records)
    assert secrets and all(len(s) >= 16 for s in secrets)
    _assert_no_leak(secrets, texts)


def test_harness_users_and_ca(kafka_cluster_sasl_ssl: KafkaCluster) -> None:
    cluster = kafka_cluster_sasl_ssl
    assert cluster.security == "SASL_SSL"
    assert set(cluster.users) == {"admin", "alice"}
    assert cluster.ca_file is not None and cluster.ca_file.read_text().startswith(
        "-----BEGIN CERTIFICATE-----")
    ctx = ssl.create_default_context(cafile=str(cluster.ca_file))
    host, port = cluster.bootstrap_servers.split(",")[0].rsplit(":", 1)
    import socket

    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.timeout(180)
def test_perf_over_sasl_ssl_with_the_password_from_the_environment(
        kafka_cluster_sasl_ssl: KafkaCluster, subprocess_env: dict[str, str]) -> None:
    import subprocess
    import sys

    cluster = kafka_cluster_sasl_ssl
    topic = _topic(cluster)
    password = cluster.users["alice"]
    env = dict(subprocess_env, PERF_SASL_PASSWORD=password)
    base = [sys.executable, "-m", "producer", "perf", "--brokers", cluster.bootstrap_servers,
            "--topic", topic, "--message-load", "2000", "--tls", "--ca-file",
            str(cluster.ca_file), "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "alice"]
    ok = subprocess.run([*base, "--sasl-password-env", "PERF_SASL_PASSWORD"],
                        capture_output=True, text=True, env=env, timeout=150)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.startswith("2000 records sent")
    verbose = subprocess.run([sys.executable, "-m", "producer", "-v", *base[3:],
                              "--message-load", "10", f"--sasl-password={password}"],
                             capture_output=True, text=True, env=env, timeout=150)
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    assert "DEBUG kafka" in verbose.stderr  # kafka-python's debug log was on
    wrong = subprocess.run([*base, f"--sasl-password=wrong-{password}"],
                           capture_output=True, text=True, env=env, timeout=150)
    assert wrong.returncode == 69
    assert "ERROR: SASL SCRAM-SHA-256 authentication of user 'alice'" in wrong.stderr
    for out in (ok, verbose, wrong):
        assert password not in out.stdout + out.stderr


def _broker_command(env: dict[str, str], *args: str) -> tuple[Any, dict[str, str]]:
    """Start ``python -m producer broker ARGS``; (process, the KEY=VALUE lines it printed)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "producer", "broker", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    while "KAFKA_USER_ALICE" not in printed:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        printed[key] = value
    return proc, printed


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_three_node_sasl_ssl_cluster_from_the_broker_command(
        subprocess_env: dict[str, str]) -> None:
    """`python -m producer broker --brokers 3 --security SASL_SSL`: replicated writes over
    SCRAM and TLS, inter-broker traffic on the same secured listener."""
    import signal

    from producer.testing import ExternalCluster

    t0 = time.monotonic()
    proc, printed = _broker_command(subprocess_env, "--brokers", "3", "--security", "sasl_ssl")
    try:
        print(f"3-node SASL_SSL cluster up in {time.monotonic() - t0:.1f} s")
        assert printed.get("KAFKA_SECURITY_PROTOCOL") == "SASL_SSL", printed
        addrs = printed["KAFKA_BOOTSTRAP_SERVERS"]
        assert len(addrs.split(",")) == 3
        ca_file = printed["KAFKA_CA_FILE"]
        users = dict(printed[f"KAFKA_USER_{u}"].split(":", 1) for u in ("ADMIN", "ALICE"))
        config = Config()
        config.net.tls.enable = True
        config.net.tls.config = ssl.create_default_context(cafile=ca_file)
        config.net.sasl.enable = True
        config.net.sasl.mechanism = "SCRAM-SHA-512"
        config.net.sasl.user, config.net.sasl.password = "admin", users["admin"]
        from producer._kafka import client_settings

        settings = client_settings(addrs.split(","), config)
        cluster = ExternalCluster.connect(addrs, client_configs={
            k: v for k, v in settings.items() if k.startswith(("security_", "ssl_", "sasl_"))})
        assert {b.node_id for b in cluster.brokers} == {1, 2, 3}
        topic = f"{ALICE_TOPIC_PREFIX}{time.monotonic_ns()}"
        cluster.create_topic(topic, partitions=3, replication_factor=3)
        config.net.sasl.user, config.net.sasl.password = "alice", users["alice"]
        config.producer.required_acks = -1
        values = [b"%d" % i for i in range(30)]
        _produce(addrs, config, topic, values)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def test_secured_clusters_are_always_local_jvms(monkeypatch: pytest.MonkeyPatch) -> None:
    from producer.testing import resolve_source

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert resolve_source(None, 1, "sasl_ssl") == "jars"
    assert resolve_source(None, 1) == "external"
    with pytest.raises(ValueError, match="needs source 'jars'"):
        resolve_source("docker", 1, "SSL")
    with pytest.raises(ValueError, match="security must be one of"):
        resolve_source(None, 1, "TLS")
