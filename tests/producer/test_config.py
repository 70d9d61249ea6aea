"""``Config``: sarama's defaults (spec §5) and every rule of sarama's ``Config.Validate``
that concerns a producer, each failing with a ``ConfigurationError`` that names the
field in both spellings (ours and sarama's)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from producer import (
    Compression,
    Config,
    ConfigurationError,
    FlushConfig,
    KafkaError,
    MetadataConfig,
    NetConfig,
    ProducerConfig,
    RequiredAcks,
    RetryConfig,
    TransactionConfig,
    TransactionRetryConfig,
)

# -- defaults -------------------------------------------------------------------------

DEFAULTS: list[tuple[str, Any]] = [
    # (our dotted name, sarama's default in our units: seconds for durations)
    ("producer.max_message_bytes", 1_048_576),
    ("producer.required_acks", 1),
    ("producer.timeout", 10.0),
    ("producer.compression", Compression.NONE),
    ("producer.compression_level", -1000),  # sarama's CompressionLevelDefault
    ("producer.partitioner", "hash"),
    ("producer.idempotent", False),
    ("producer.return_successes", False),
    ("producer.return_errors", True),
    ("producer.flush.bytes", 0),
    ("producer.flush.messages", 0),
    ("producer.flush.frequency", 0),
    ("producer.flush.max_messages", 0),
    ("producer.retry.max", 3),
    ("producer.retry.backoff", 0.1),
    ("producer.retry.backoff_func", None),
    ("producer.retry.max_buffer_length", 0),
    ("producer.retry.max_buffer_bytes", 0),
    ("producer.interceptors", []),
    ("producer.transaction.id", ""),
    ("producer.transaction.timeout", 60.0),
    ("producer.transaction.retry.max", 50),
    ("producer.transaction.retry.backoff", 0.1),
    ("channel_buffer_size", 256),
    ("net.max_open_requests", 5),
    ("net.dial_timeout", 30.0),
    ("net.read_timeout", 30.0),
    ("net.write_timeout", 30.0),
    ("net.keep_alive", 0),
    ("metadata.retry.max", 3),
    ("metadata.retry.backoff", 0.25),
    ("metadata.refresh_frequency", 600.0),
    ("metadata.full", True),
    ("metadata.allow_auto_topic_creation", True),
    ("client_id", "sarama"),
    ("version", (2, 8, 0)),
]


def _get(config: Config, name: str) -> Any:
    obj: Any = config
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _set(config: Config, name: str, value: Any) -> None:
    *path, last = name.split(".")
    obj: Any = config
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


@pytest.mark.parametrize(("name", "default"), DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_default_matches_sarama(name: str, default: Any) -> None:
    value = _get(Config(), name)
    assert value == default
    assert type(value) is not bool or type(default) is bool  # True == 1 must not pass for acks


def test_required_acks_default_is_wait_for_local() -> None:
    assert Config().producer.required_acks == RequiredAcks.WAIT_FOR_LOCAL == 1
    assert RequiredAcks.NO_RESPONSE == 0
    assert RequiredAcks.WAIT_FOR_ALL == -1


def test_defaults_validate_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        Config().validate()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_configs_are_independent() -> None:
    a, b = Config(), Config()
    a.producer.retry.max = 7
    a.producer.interceptors.append(object())
    assert b.producer.retry.max == 3
    assert b.producer.interceptors == []


def test_sub_configs_are_the_documented_classes() -> None:
    c = Config()
    assert type(c.producer) is ProducerConfig
    assert type(c.producer.flush) is FlushConfig
    assert type(c.producer.retry) is RetryConfig
    assert type(c.net) is NetConfig
    assert type(c.metadata) is MetadataConfig
    assert type(c.producer.transaction) is TransactionConfig
    assert type(c.producer.transaction.retry) is TransactionRetryConfig


# -- validation: one row per sarama rule ------------------------------------------------

Setter = Callable[[Config], None]


def _sets(**fields: Any) -> Setter:
    def apply(config: Config) -> None:
        for name, value in fields.items():
            _set(config, name.replace("__", "."), value)
    return apply


def _idempotent(**extra: Any) -> Setter:
    base = {"producer__idempotent": True, "producer__required_acks": -1,
            "net__max_open_requests": 1}
    base.update(extra)
    return _sets(**base)


# (id, setter, our name, sarama's name) -- sarama v1.60.1 config.go Validate().
RULES: list[tuple[str, Setter, str, str]] = [
    ("max_open_requests=0", _sets(net__max_open_requests=0),
     "net.max_open_requests", "Net.MaxOpenRequests"),
    ("max_open_requests<0", _sets(net__max_open_requests=-1),
     "net.max_open_requests", "Net.MaxOpenRequests"),
    ("dial_timeout=0", _sets(net__dial_timeout=0), "net.dial_timeout", "Net.DialTimeout"),
    ("read_timeout<0", _sets(net__read_timeout=-1.0), "net.read_timeout", "Net.ReadTimeout"),
    ("write_timeout=0", _sets(net__write_timeout=0.0),
     "net.write_timeout", "Net.WriteTimeout"),
    # sarama settings the Kafka client cannot honour: refused, naming what to use (issue 16)
    ("write_timeout set", _sets(net__write_timeout=10.0),
     "net.write_timeout", "Net.WriteTimeout"),
    ("retry.max_buffer_length set", _sets(producer__retry__max_buffer_length=4096),
     "producer.retry.max_buffer_length", "Producer.Retry.MaxBufferLength"),
    ("retry.max_buffer_bytes set", _sets(producer__retry__max_buffer_bytes=32 << 20),
     "producer.retry.max_buffer_bytes", "Producer.Retry.MaxBufferBytes"),
    ("flush.messages without frequency", _sets(producer__flush__messages=10),
     "producer.flush.messages", "Producer.Flush.Messages"),
    ("backoff_func raises", _sets(producer__retry__backoff_func=lambda r, m: 1 / 0),
     "producer.retry.backoff_func", "Producer.Retry.BackoffFunc"),
    ("backoff_func returns no seconds", _sets(producer__retry__backoff_func=lambda r, m: "1s"),
     "producer.retry.backoff_func", "Producer.Retry.BackoffFunc"),
    ("backoff_func returns NaN",
     _sets(producer__retry__backoff_func=lambda r, m: float("nan")),
     "producer.retry.backoff_func", "Producer.Retry.BackoffFunc"),
    ("metadata.retry.max<0", _sets(metadata__retry__max=-1),
     "metadata.retry.max", "Metadata.Retry.Max"),
    ("metadata.retry.backoff<0", _sets(metadata__retry__backoff=-0.001),
     "metadata.retry.backoff", "Metadata.Retry.Backoff"),
    ("metadata.refresh_frequency<0", _sets(metadata__refresh_frequency=-1),
     "metadata.refresh_frequency", "Metadata.RefreshFrequency"),
    ("max_message_bytes=0", _sets(producer__max_message_bytes=0),
     "producer.max_message_bytes", "Producer.MaxMessageBytes"),
    ("max_message_bytes<0", _sets(producer__max_message_bytes=-5),
     "producer.max_message_bytes", "Producer.MaxMessageBytes"),
    ("required_acks=-2", _sets(producer__required_acks=-2),
     "producer.required_acks", "Producer.RequiredAcks"),
    ("timeout=0", _sets(producer__timeout=0), "producer.timeout", "Producer.Timeout"),
    ("timeout<0", _sets(producer__timeout=-1.0), "producer.timeout", "Producer.Timeout"),
    ("partitioner=None", _sets(producer__partitioner=None),
     "producer.partitioner", "Producer.Partitioner"),
    ("flush.bytes<0", _sets(producer__flush__bytes=-1),
     "producer.flush.bytes", "Producer.Flush.Bytes"),
    ("flush.messages<0", _sets(producer__flush__messages=-1),
     "producer.flush.messages", "Producer.Flush.Messages"),
    ("flush.frequency<0", _sets(producer__flush__frequency=-0.5),
     "producer.flush.frequency", "Producer.Flush.Frequency"),
    ("flush.max_messages<0", _sets(producer__flush__max_messages=-1),
     "producer.flush.max_messages", "Producer.Flush.MaxMessages"),
    ("flush.max_messages<messages", _sets(producer__flush__messages=10,
                                         producer__flush__max_messages=5,
                                         producer__flush__frequency=0.01),
     "producer.flush.max_messages", "Producer.Flush.MaxMessages"),
    ("retry.max<0", _sets(producer__retry__max=-1), "producer.retry.max", "Producer.Retry.Max"),
    ("retry.backoff<0", _sets(producer__retry__backoff=-0.1),
     "producer.retry.backoff", "Producer.Retry.Backoff"),
    ("lz4 before 0.10", _sets(producer__compression="lz4", version=(0, 9, 0)),
     "producer.compression", "Producer.Compression"),
    ("zstd before 2.1", _sets(producer__compression=Compression.ZSTD, version=(2, 0, 0)),
     "producer.compression", "Producer.Compression"),
    ("gzip level 10", _sets(producer__compression="gzip", producer__compression_level=10),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("gzip level -3", _sets(producer__compression="gzip", producer__compression_level=-3),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("lz4 level 17", _sets(producer__compression="lz4", producer__compression_level=17),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("lz4 level -1", _sets(producer__compression="lz4", producer__compression_level=-1),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("zstd level 23", _sets(producer__compression="zstd", producer__compression_level=23),
     "producer.compression_level", "Producer.CompressionLevel"),
    # A level where it would be ignored: refused, not accepted and ignored.
    ("level without compression", _sets(producer__compression_level=42),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("snappy level", _sets(producer__compression="snappy", producer__compression_level=1),
     "producer.compression_level", "Producer.CompressionLevel"),
    ("idempotent before 0.11", _idempotent(version=(0, 10, 2)),
     "producer.idempotent", "Producer.Idempotent"),
    ("idempotent retry.max=0", _idempotent(producer__retry__max=0),
     "producer.retry.max", "Producer.Retry.Max"),
    ("idempotent acks=1", _idempotent(producer__required_acks=1),
     "producer.required_acks", "Producer.RequiredAcks"),
    ("idempotent max_open_requests=5", _idempotent(net__max_open_requests=5),
     "net.max_open_requests", "Net.MaxOpenRequests"),
    ("transaction.id without idempotent", _sets(producer__transaction__id="tx"),
     "producer.transaction.id", "Producer.Transaction.ID"),
    ("transaction.id with acks=1", _idempotent(producer__transaction__id="tx",
                                               producer__required_acks=1),
     "producer.required_acks", "Producer.RequiredAcks"),
    ("transaction.id with max_open_requests=5",
     _idempotent(producer__transaction__id="tx", net__max_open_requests=5),
     "net.max_open_requests", "Net.MaxOpenRequests"),
    ("transaction.timeout=0", _sets(producer__transaction__timeout=0),
     "producer.transaction.timeout", "Producer.Transaction.Timeout"),
    ("transaction.timeout beyond int32 ms", _sets(producer__transaction__timeout=3e6),
     "producer.transaction.timeout", "Producer.Transaction.Timeout"),
    ("transaction.retry.max<0", _sets(producer__transaction__retry__max=-1),
     "producer.transaction.retry.max", "Producer.Transaction.Retry.Max"),
    ("transaction.retry.backoff<0", _sets(producer__transaction__retry__backoff=-0.1),
     "producer.transaction.retry.backoff", "Producer.Transaction.Retry.Backoff"),
    ("channel_buffer_size<0", _sets(channel_buffer_size=-1),
     "channel_buffer_size", "ChannelBufferSize"),
    ("client_id invalid before 1.0", _sets(client_id="bad id!", version=(0, 11, 0)),
     "client_id", "ClientID"),
]


@pytest.mark.parametrize(("setter", "ours", "saramas"), [r[1:] for r in RULES],
                         ids=[r[0] for r in RULES])
def test_validation_rule(setter: Setter, ours: str, saramas: str) -> None:
    config = Config()
    setter(config)
    with pytest.raises(ConfigurationError) as info:
        config.validate()
    text = str(info.value)
    assert ours in text
    assert saramas in text
    assert text.startswith("kafka: invalid configuration (")
    assert isinstance(info.value, KafkaError)


@pytest.mark.parametrize("setter", [
    _sets(net__max_open_requests=1),
    _sets(producer__required_acks=-1),
    _sets(producer__required_acks=0),
    _sets(producer__timeout=0.001),
    _sets(producer__flush__messages=10, producer__flush__max_messages=10,
          producer__flush__frequency=0.01),
    _sets(producer__flush__max_messages=3),  # max_messages with messages=0 is fine
    _sets(producer__flush__messages=3, producer__flush__frequency=0.01),
    _sets(net__keep_alive=-1.0),  # sarama: keep-alives off
    _sets(net__read_timeout=0.5),
    _sets(producer__retry__max=0),  # allowed when not idempotent
    _sets(producer__retry__backoff=0),
    _sets(channel_buffer_size=0),  # legal in sarama
    _sets(producer__compression="lz4", version=(0, 10, 0)),
    _sets(producer__compression="zstd", version=(2, 1, 0)),
    _sets(producer__compression="gzip", producer__compression_level=9),
    _sets(producer__compression="gzip", producer__compression_level=0),
    _sets(producer__compression="gzip", producer__compression_level=-1),
    _sets(producer__compression="gzip", producer__compression_level=-2),
    _sets(producer__compression="snappy"),
    _sets(producer__compression="lz4", producer__compression_level=0),
    _sets(producer__compression="lz4", producer__compression_level=16),
    _sets(producer__compression="zstd", producer__compression_level=-131072),
    _sets(producer__compression="zstd", producer__compression_level=22),
    _sets(producer__compression="zstd", producer__compression_level=-1000),  # the default
    _idempotent(),
    _idempotent(producer__transaction__id="tx"),
    _sets(producer__transaction__retry__max=0, producer__transaction__retry__backoff=0),
    _sets(client_id="bad id!"),  # only checked before Kafka 1.0 (KIP-190)
    _sets(client_id="good.id-1_x", version=(0, 11, 0)),
    _sets(metadata__refresh_frequency=0),
    _sets(producer__partitioner="murmur2"),
    _sets(producer__partitioner=lambda topic: None),
], ids=lambda s: "")
def test_valid_edge_values_pass(setter: Setter) -> None:
    config = Config()
    setter(config)
    config.validate()


def test_first_offending_field_is_reported() -> None:
    config = Config()
    config.net.max_open_requests = 0
    config.producer.retry.max = -1
    with pytest.raises(ConfigurationError, match=r"Net\.MaxOpenRequests"):
        config.validate()


def test_unknown_partitioner_name() -> None:
    config = Config()
    config.producer.partitioner = "nope"
    with pytest.raises(ConfigurationError, match=r"producer\.partitioner.*Producer\.Partitioner"):
        config.validate()


def test_unknown_compression() -> None:
    config = Config()
    config.producer.compression = "brotli"
    with pytest.raises(ConfigurationError, match=r"producer\.compression.*Producer\.Compression"):
        config.validate()


# -- wrong types -------------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("producer.retry.max", "3", "Producer.Retry.Max"),
    ("producer.retry.max", 3.0, "Producer.Retry.Max"),
    ("producer.retry.max", True, "Producer.Retry.Max"),
    ("producer.max_message_bytes", None, "Producer.MaxMessageBytes"),
    ("producer.timeout", "10s", "Producer.Timeout"),
    ("producer.timeout", True, "Producer.Timeout"),
    ("producer.retry.backoff", None, "Producer.Retry.Backoff"),
    ("producer.return_successes", 1, "Producer.Return.Successes"),
    ("producer.return_errors", "yes", "Producer.Return.Errors"),
    ("producer.idempotent", None, "Producer.Idempotent"),
    ("producer.flush.messages", 1.5, "Producer.Flush.Messages"),
    ("producer.flush.frequency", "0", "Producer.Flush.Frequency"),
    ("channel_buffer_size", 256.0, "ChannelBufferSize"),
    ("channel_buffer_size", "256", "ChannelBufferSize"),
    ("net.max_open_requests", None, "Net.MaxOpenRequests"),
    ("net.dial_timeout", "30", "Net.DialTimeout"),
    ("metadata.retry.max", 3.5, "Metadata.Retry.Max"),
    ("metadata.allow_auto_topic_creation", "false", "Metadata.AllowAutoTopicCreation"),
    ("client_id", b"sarama", "ClientID"),
    ("version", "2.8.0", "Version"),
    ("version", [2, 8, 0], "Version"),
    ("producer", {"retry": {"max": 3}}, "Producer"),
    ("producer.retry", None, "Producer.Retry"),
    ("net", object(), "Net"),
    ("producer.partitioner", 5, "Producer.Partitioner"),
    ("producer.retry.backoff_func", 0.5, "Producer.Retry.BackoffFunc"),
    ("producer.interceptors", "not-a-list", "Producer.Interceptors"),
    ("producer.transaction.id", None, "Producer.Transaction.ID"),
    ("producer.transaction.timeout", "1m", "Producer.Transaction.Timeout"),
    ("producer.transaction.retry.max", 5.0, "Producer.Transaction.Retry.Max"),
    ("producer.transaction", None, "Producer.Transaction"),
]


@pytest.mark.parametrize(("name", "value", "saramas"), WRONG_TYPES,
                         ids=[f"{n}={v!r}" for n, v, _ in WRONG_TYPES])
def test_wrong_type_is_a_configuration_error(name: str, value: Any, saramas: str) -> None:
    config = Config()
    _set(config, name, value)
    with pytest.raises(ConfigurationError) as info:
        config.validate()
    assert name in str(info.value)
    assert saramas in str(info.value)


@pytest.mark.parametrize(("name", "value"), [
    ("producer.timeout", 10),  # an int number of seconds is fine
    ("producer.retry.backoff", 0),
    ("net.dial_timeout", 1),
    ("producer.required_acks", RequiredAcks.WAIT_FOR_ALL),
    ("producer.compression", Compression.GZIP),
    ("producer.interceptors", ()),
    ("producer.retry.backoff_func", lambda retries, maximum: 0.01),
])
def test_accepted_equivalent_types(name: str, value: Any) -> None:
    config = Config()
    _set(config, name, value)
    config.validate()


# -- warnings become log records ---------------------------------------------------------

WARNINGS: list[tuple[str, Setter, str]] = [
    ("acks>1", _sets(producer__required_acks=2), "Producer.RequiredAcks"),
    ("max_message_bytes>=MaxRequestSize", _sets(producer__max_message_bytes=100 * 1024 * 1024),
     "Producer.MaxMessageBytes"),
    ("flush.bytes>=MaxRequestSize",
     _sets(producer__flush__bytes=100 * 1024 * 1024, producer__flush__frequency=0.1),
     "Producer.Flush.Bytes"),
    ("flush.bytes without frequency", _sets(producer__flush__bytes=1000),
     "Producer.Flush.Frequency"),
    ("timeout not whole ms", _sets(producer__timeout=1.0005), "Producer.Timeout"),
]


@pytest.mark.parametrize(("setter", "saramas"), [w[1:] for w in WARNINGS],
                         ids=[w[0] for w in WARNINGS])
def test_warning_is_logged_not_raised(setter: Setter, saramas: str,
                                      caplog: pytest.LogCaptureFixture) -> None:
    config = Config()
    setter(config)
    with caplog.at_level(logging.WARNING, logger="producer"):
        config.validate()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].name == "producer"
    assert saramas in warnings[0].getMessage()


def test_whole_millisecond_timeout_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    config = Config()
    config.producer.timeout = 0.25
    with caplog.at_level(logging.WARNING, logger="producer"):
        config.validate()
    assert not caplog.records


def test_flush_with_frequency_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    config = Config()
    config.producer.flush.messages = 100
    config.producer.flush.bytes = 10_000
    config.producer.flush.frequency = 0.005
    with caplog.at_level(logging.WARNING, logger="producer"):
        config.validate()
    assert not caplog.records


@pytest.mark.parametrize("timeout", [1.001, 1.003, 1.005])
def test_whole_millisecond_float_timeout_does_not_warn(
        timeout: float, caplog: pytest.LogCaptureFixture) -> None:
    config = Config()
    config.producer.timeout = timeout
    with caplog.at_level(logging.WARNING, logger="producer"):
        config.validate()
    assert not caplog.records


# -- unknown attributes (issue 14, item 3) -----------------------------------------------


@pytest.mark.parametrize(("statement", "message"), [
    ("c.producer.return_success = True",
     "producer.return_success is not a config field; did you mean producer.return_successes?"),
    ("c.channel_buffer_sise = 16",
     "channel_buffer_sise is not a config field; did you mean channel_buffer_size?"),
    ("c.producer.flush.frequncy = 0.1",
     "producer.flush.frequncy is not a config field; did you mean producer.flush.frequency?"),
    ("c.metadata.retry.backof = 1",
     "metadata.retry.backof is not a config field; did you mean metadata.retry.backoff?"),
    ("c.net.dial_timout = 1",
     "net.dial_timout is not a config field; did you mean net.dial_timeout?"),
    ("c.producer.MaxMessageBytes = 10",  # sarama's spelling
     "producer.MaxMessageBytes is not a config field; did you mean producer.max_message_bytes?"),
    ("c.producer.retries.max = 1",  # a typo on read, too
     "producer.retries is not a config field; did you mean producer.retry?"),
    ("c.zzz = 1",
     "zzz is not a config field; the fields of Config are: producer, net, metadata, client_id, "
     "channel_buffer_size, version"),
])
def test_an_unknown_attribute_is_refused_with_the_nearest_field(statement: str,
                                                                message: str) -> None:
    c = Config()
    with pytest.raises(AttributeError) as info:
        exec(statement, {"c": c})
    assert str(info.value) == message
    assert c == Config()  # nothing was set


def _nodes(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    from dataclasses import fields, is_dataclass

    out = [(path, obj)]
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out += _nodes(value, f"{path}{f.name}.")
    return out


def test_every_node_of_the_tree_refuses_unknown_attributes() -> None:
    """Nodes added later anywhere under Config (net.tls, net.sasl...) are covered."""
    nodes = _nodes(Config())
    assert {"producer.", "producer.retry.", "net.", "net.tls.", "net.sasl.",
            "metadata.retry."} <= {path for path, _ in nodes}
    for path, node in nodes:
        with pytest.raises(AttributeError, match=f"^{path}not_a_field is not a config field"):
            node.not_a_field = 1


def test_known_fields_copies_and_equality_still_work() -> None:
    import copy
    import dataclasses
    import pickle

    c = Config()
    c.producer.return_successes = True
    c.net.tls.enable = False
    assert copy.deepcopy(c) == c and pickle.loads(pickle.dumps(c)) == c
    assert dataclasses.replace(c.producer, timeout=3.0).timeout == 3.0
    assert getattr(c.producer, "no_such_field", "fallback") == "fallback"
    assert not hasattr(c, "no_such_field")
    c.validate()
