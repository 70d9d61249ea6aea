"""Constructors check everything they can before any network I/O (no broker needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import producer._async_producer as ap
from producer import AsyncProducer, Config, ConfigurationError, KafkaError, SyncProducer
from producer._async_producer import parse_addrs

UNREACHABLE = "127.0.0.1:1"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fail loudly if a constructor gets as far as creating the Kafka client."""
    calls: list[Any] = []

    def forbidden(addrs: Any, config: Any) -> Any:
        calls.append(addrs)
        raise AssertionError("the Kafka client was created: network I/O before validation")

    monkeypatch.setattr(ap, "new_client", forbidden)
    yield calls
    assert calls == []


def _bad_config() -> Config:
    config = Config()
    config.producer.retry.max = -1
    return config


@pytest.mark.parametrize("ctor", [AsyncProducer, SyncProducer])
def test_bad_config_fails_at_once_before_connecting(ctor: Any, no_network: list[Any]) -> None:
    config = _bad_config()
    config.producer.return_successes = True  # so SyncProducer gets as far as validate()
    start = time.monotonic()
    with pytest.raises(ConfigurationError, match=r"producer\.retry\.max.*Producer\.Retry\.Max"):
        ctor(UNREACHABLE, config)
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize("ctor", [AsyncProducer, SyncProducer])
def test_bad_config_fails_fast_with_the_real_client(ctor: Any) -> None:
    """Same, without the spy: an unreachable address is never dialled."""
    config = _bad_config()
    config.producer.return_successes = True
    start = time.monotonic()
    with pytest.raises(ConfigurationError):
        ctor(UNREACHABLE, config)
    assert time.monotonic() - start < 0.5


def test_sync_producer_requires_return_successes(no_network: list[Any]) -> None:
    config = Config()  # return_successes defaults to False
    start = time.monotonic()
    with pytest.raises(ConfigurationError) as info:
        SyncProducer(UNREACHABLE, config)
    assert "Producer.Return.Successes" in str(info.value)
    assert "producer.return_successes" in str(info.value)
    assert time.monotonic() - start < 0.5


def test_sync_producer_checks_return_errors_first(no_network: list[Any]) -> None:
    config = Config()
    config.producer.return_errors = False
    config.producer.return_successes = False
    with pytest.raises(ConfigurationError) as info:
        SyncProducer(UNREACHABLE, config)
    assert "Producer.Return.Errors" in str(info.value)
    assert "Successes" not in str(info.value)


def test_sync_producer_requires_return_errors(no_network: list[Any]) -> None:
    config = Config()
    config.producer.return_errors = False
    config.producer.return_successes = True
    with pytest.raises(ConfigurationError, match=r"Producer\.Return\.Errors"):
        SyncProducer(UNREACHABLE, config)


def test_sync_producer_checks_returns_before_the_other_rules(no_network: list[Any]) -> None:
    config = _bad_config()  # also invalid, but sarama's verifyProducerConfig comes first
    with pytest.raises(ConfigurationError, match=r"Producer\.Return\.Successes"):
        SyncProducer(UNREACHABLE, config)


@pytest.mark.parametrize("ctor", [AsyncProducer, SyncProducer])
@pytest.mark.parametrize("config", [{"producer": {}}, "defaults", 42])
def test_config_of_wrong_type(ctor: Any, config: Any, no_network: list[Any]) -> None:
    with pytest.raises(TypeError, match="Config"):
        ctor(UNREACHABLE, config)


BAD_ADDRS: list[Any] = [
    "", " ", ",", [], (), ["localhost"], "localhost", "localhost:", ":9092", "host:port",
    "host:0", "host:65536", "host:-1", "host:9092x", ["127.0.0.1:9092", "nohost"],
    [None], [9092], None, 9092, b"127.0.0.1:9092",
]


@pytest.mark.parametrize("ctor", [AsyncProducer, SyncProducer])
@pytest.mark.parametrize("addrs", BAD_ADDRS, ids=[repr(a) for a in BAD_ADDRS])
def test_bad_addresses_are_configuration_errors(ctor: Any, addrs: Any,
                                                no_network: list[Any]) -> None:
    with pytest.raises(ConfigurationError, match="addr"):
        ctor(addrs, None)


@pytest.mark.parametrize(("addrs", "parsed"), [
    ("127.0.0.1:9092", ["127.0.0.1:9092"]),
    ("a:1, b:2,", ["a:1", "b:2"]),
    (["broker-1.example:9092", "[::1]:9093"], ["broker-1.example:9092", "[::1]:9093"]),
    (("h:65535",), ["h:65535"]),
])
def test_good_addresses(addrs: Any, parsed: list[str]) -> None:
    assert parse_addrs(addrs) == parsed


@pytest.mark.timeout(60)
def test_unreachable_broker_is_a_kafka_error() -> None:
    config = Config()
    config.net.dial_timeout = 1.0
    start = time.monotonic()
    with pytest.raises(KafkaError, match="run out of available brokers"):
        AsyncProducer(UNREACHABLE, config)
    assert time.monotonic() - start < 20
