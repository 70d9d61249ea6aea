"""net.tls and net.sasl: sarama's rules and names, the Kafka client's settings, no leaks."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import pytest

from producer import Config, ConfigurationError, SASLConfig, SASLMechanism, TLSConfig, mocks
from producer._config import sarama_name
from producer._kafka import client_settings
from producer._redact import REDACTED, install, register, scrub

SECRET = "s3cr3t-Pa55word-for-tests"


def _sasl(mechanism: str = "PLAIN", **fields: Any) -> Config:
    c = Config()
    c.net.sasl.enable = True
    c.net.sasl.mechanism = mechanism
    for k, v in fields.items():
        setattr(c.net.sasl, k, v)
    return c


def test_defaults() -> None:
    c = Config()
    assert c.net.tls == TLSConfig(enable=False, config=None)
    assert c.net.sasl == SASLConfig()
    assert c.net.sasl.mechanism == SASLMechanism.PLAIN and c.net.sasl.handshake is True
    c.validate()


def test_sarama_spellings() -> None:
    assert sarama_name("net.tls.enable") == "Net.TLS.Enable"
    assert sarama_name("net.sasl.token_provider") == "Net.SASL.TokenProvider"


@pytest.mark.parametrize(("config", "message"), [
    (_sasl("PLAIN", password=SECRET),
     r"net\.sasl\.user \(sarama: Net\.SASL\.User\) must not be empty when SASL is enabled"),
    (_sasl("SCRAM-SHA-256", user="alice"),
     r"net\.sasl\.password \(sarama: Net\.SASL\.Password\) must not be empty when SASL is "
     r"enabled"),
    (_sasl("SCRAM-SHA-512", password=SECRET), r"net\.sasl\.user"),
    (_sasl("OAUTHBEARER"),
     r"net\.sasl\.token_provider \(sarama: Net\.SASL\.TokenProvider\) must be set"),
    (_sasl("GSSAPI", user="a", password=SECRET),
     r"net\.sasl\.mechanism \(sarama: Net\.SASL\.Mechanism\) must be one of \['PLAIN', "
     r"'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'\], not 'GSSAPI' \(GSSAPI/Kerberos"),
    (_sasl("PLAIN", user="a", password=SECRET, handshake=False),
     r"net\.sasl\.handshake \(sarama: Net\.SASL\.Handshake\) must be True"),
    (_sasl("OAUTHBEARER", token_provider="not callable"),
     r"net\.sasl\.token_provider .* must be a callable"),
    (_sasl(SASLMechanism.PLAIN, user="a", password=1234),
     r"net\.sasl\.password \(sarama: Net\.SASL\.Password\) must be a str"),
])
def test_sasl_rules(config: Config, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        config.validate()
    assert SECRET not in str(info.value)


def test_tls_config_must_be_an_ssl_context() -> None:
    c = Config()
    c.net.tls.enable = True
    c.net.tls.config = "ca.pem"  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match=r"net\.tls\.config \(sarama: Net\.TLS\.Config"
                                                 r"\) must be an ssl\.SSLContext or None"):
        c.validate()


def test_valid_security_configs_pass() -> None:
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        _sasl(mechanism, user="a", password=SECRET).validate()
    _sasl("OAUTHBEARER", token_provider=lambda: "token").validate()
    c = Config()
    c.net.tls.enable = True
    c.net.tls.config = ssl.create_default_context()
    c.validate()


@pytest.mark.parametrize(("setup", "warning"), [
    (lambda c: setattr(c.net.tls, "config", ssl.create_default_context()),
     "net.tls (sarama: Net.TLS) is disabled but a non-None net.tls.config was provided"),
    (lambda c: setattr(c.net.sasl, "user", "alice"),
     "net.sasl (sarama: Net.SASL) is disabled but a non-empty username was provided"),
    (lambda c: setattr(c.net.sasl, "password", SECRET),
     "net.sasl (sarama: Net.SASL) is disabled but a non-empty password was provided"),
])
def test_sarama_warnings(setup: Any, warning: str, caplog: pytest.LogCaptureFixture) -> None:
    c = Config()
    setup(c)
    with caplog.at_level(logging.WARNING, logger="producer"):
        c.validate()
    assert [r.getMessage() for r in caplog.records] == [warning]


def test_password_is_not_in_repr() -> None:
    c = _sasl("PLAIN", user="alice", password=SECRET)
    for text in (repr(c), str(c), repr(c.net), repr(c.net.sasl)):
        assert SECRET not in text
    assert "user='alice'" in repr(c.net.sasl)


@pytest.mark.parametrize(("tls", "sasl", "protocol"), [
    (False, False, "PLAINTEXT"), (True, False, "SSL"), (False, True, "SASL_PLAINTEXT"),
    (True, True, "SASL_SSL")])
def test_client_settings(tls: bool, sasl: bool, protocol: str) -> None:
    c = _sasl("SCRAM-SHA-512", user="alice", password=SECRET)
    c.net.sasl.enable = sasl
    c.net.tls.enable = tls
    s = client_settings(["127.0.0.1:9092"], c)
    assert s["security_protocol"] == protocol
    if tls:
        ctx = s["ssl_context"]
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    else:
        assert "ssl_context" not in s
    if sasl:
        assert s["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (s["sasl_plain_username"], s["sasl_plain_password"]) == ("alice", SECRET)
    else:
        assert not any(k.startswith("sasl_") for k in s)


def test_client_settings_use_the_given_context_and_wrap_the_token_provider() -> None:
    ctx = ssl.create_default_context()
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return f"token-{len(calls)}"

    c = _sasl("OAUTHBEARER", token_provider=provider)
    c.net.tls.enable = True
    c.net.tls.config = ctx
    s = client_settings(["h:1"], c)
    assert s["ssl_context"] is ctx
    tp = s["sasl_oauth_token_provider"]
    from kafka.net.sasl.oauth import AbstractTokenProvider

    assert isinstance(tp, AbstractTokenProvider)
    assert [tp.token(), tp.token()] == ["token-1", "token-2"]  # called on every authentication


def test_mocks_apply_the_security_rules() -> None:
    with pytest.raises(AssertionError, match=r"Invalid mock configuration provided: .*"
                                             r"net\.sasl\.user \(sarama: Net\.SASL\.User\)"):
        mocks.SyncProducer(config=_sasl("PLAIN", password=SECRET))
    reported: list[str] = []
    mocks.AsyncProducer(config=_sasl("OAUTHBEARER"), reporter=reported.append).close()
    assert len(reported) == 1 and "net.sasl.token_provider" in reported[0]


def test_redaction_of_kafka_log_records(caplog: pytest.LogCaptureFixture) -> None:
    import kafka  # noqa: F401  (creates kafka-python's loggers)

    register(SECRET)
    install()
    log = logging.getLogger("kafka.protocol.parser")
    with caplog.at_level(logging.DEBUG, logger="kafka"):
        request = f"SaslAuthenticateRequest(auth_bytes=b'a\\x00a\\x00{SECRET}')"
        log.debug("Sending request %s", request)
        log.debug("Send: %r", bytearray(b"\x00\x00" + SECRET.encode()))
        log.debug("unrelated %s", "text")
    messages = [r.getMessage() for r in caplog.records]
    assert all(SECRET not in m for m in messages)
    assert messages[0] == f"Sending request SaslAuthenticateRequest(auth_bytes={REDACTED})"
    assert messages[2] == "unrelated text"
    assert scrub(f"x {SECRET!r} y") == f"x '{REDACTED}' y"


class _FakeBroker:
    """A loopback listener running ``serve(conn)`` for one connection (no Kafka)."""

    def __init__(self, serve: Any) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"

        def run() -> None:
            conn, _ = self.sock.accept()
            with conn:
                serve(conn)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.thread.join(5)
        self.sock.close()


def _answer_api_versions_then_hang_up(conn: Any) -> None:
    import struct

    size = struct.unpack(">i", conn.recv(4))[0]
    header = conn.recv(size)
    correlation = struct.unpack_from(">i", header, 4)[0]
    body = struct.pack(">ih", correlation, 0) + struct.pack(">i", 0)
    conn.sendall(struct.pack(">i", len(body)) + body)
    conn.recv(4096)  # the SaslHandshake: hang up without answering


def test_preflight_blames_tls_only_for_a_port_that_answers_nothing() -> None:
    from producer import AuthenticationError
    from producer._preflight import check_security

    broker = _FakeBroker(lambda conn: None)  # closes at once, like a TLS port would
    try:
        with pytest.raises(AuthenticationError, match="probably a TLS listener"):
            check_security([broker.addr], Config(), {})
    finally:
        broker.close()
    # Answers Kafka, then drops the SASL probe (not Apache Kafka?): left to the client.
    broker = _FakeBroker(_answer_api_versions_then_hang_up)
    try:
        check_security([broker.addr], Config(), {})
    finally:
        broker.close()


def test_preflight_leaves_an_unreachable_broker_to_the_client() -> None:
    import socket

    from producer._preflight import check_security

    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    config = Config()
    config.net.tls.enable = True
    check_security([f"127.0.0.1:{port}"], config, {})  # refused: inconclusive, no error
