"""``Config``: sarama's configuration tree in snake_case, with sarama's defaults and rules.

``Config().producer.retry.max`` is sarama's ``Config.Producer.Retry.Max``. The
two exceptions to the mechanical renaming are sarama's ``Producer.Return.Successes``
and ``.Errors``, which are ``producer.return_successes`` and
``producer.return_errors`` here. :meth:`Config.validate` applies every rule of
sarama's ``Config.Validate`` that concerns a producer; a violation raises
:class:`ConfigurationError` naming the field in both spellings, and sarama's
warnings are logged on the ``producer`` logger. Durations are float seconds.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from ._errors import ConfigurationError
from ._partitioner import PARTITIONERS, Partitioner

__all__ = [
    "Compression",
    "Config",
    "FlushConfig",
    "MetadataConfig",
    "MetadataRetryConfig",
    "NetConfig",
    "ProducerConfig",
    "RequiredAcks",
    "RetryConfig",
]

log = logging.getLogger("producer")

MAX_REQUEST_SIZE = 100 * 1024 * 1024  # sarama's MaxRequestSize
COMPRESSION_LEVEL_DEFAULT = -1000  # sarama's CompressionLevelDefault


class RequiredAcks(enum.IntEnum):
    """sarama's ``RequiredAcks``."""

    NO_RESPONSE = 0  # fire and forget: no offsets come back
    WAIT_FOR_LOCAL = 1  # the leader wrote it (sarama's default)
    WAIT_FOR_ALL = -1  # every in-sync replica wrote it


class Compression(str, enum.Enum):
    """sarama's ``CompressionCodec``."""

    NONE = "none"
    GZIP = "gzip"
    SNAPPY = "snappy"
    LZ4 = "lz4"
    ZSTD = "zstd"


@dataclass
class RetryConfig:
    """``Producer.Retry``: retries per message and the wait between attempts."""

    max: int = 3
    backoff: float = 0.1
    backoff_func: Callable[[int, int], float] | None = None
    max_buffer_length: int = 0
    max_buffer_bytes: int = 0


@dataclass
class FlushConfig:
    """``Producer.Flush``: when a batch is sent. All zero means "as fast as possible"."""

    bytes: int = 0
    messages: int = 0
    frequency: float = 0.0
    max_messages: int = 0


@dataclass
class ProducerConfig:
    """``Producer``: what a producer does with each message."""

    max_message_bytes: int = 1_048_576
    required_acks: int = RequiredAcks.WAIT_FOR_LOCAL
    timeout: float = 10.0
    compression: Compression | str = Compression.NONE
    compression_level: int = COMPRESSION_LEVEL_DEFAULT
    partitioner: str | Callable[[str], Partitioner] = "hash"
    idempotent: bool = False
    return_successes: bool = False
    return_errors: bool = True
    flush: FlushConfig = field(default_factory=FlushConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    interceptors: list[Any] = field(default_factory=list)


@dataclass
class NetConfig:
    """``Net``: connections to the brokers."""

    max_open_requests: int = 5
    dial_timeout: float = 30.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    keep_alive: float = 0.0


@dataclass
class MetadataRetryConfig:
    """``Metadata.Retry``."""

    max: int = 3
    backoff: float = 0.25


@dataclass
class MetadataConfig:
    """``Metadata``: how cluster metadata is fetched and refreshed."""

    retry: MetadataRetryConfig = field(default_factory=MetadataRetryConfig)
    refresh_frequency: float = 600.0
    full: bool = True
    allow_auto_topic_creation: bool = True


@dataclass
class Config:
    """sarama's ``Config`` (the producer's part of it), with sarama's defaults.

    ``version`` is the Kafka protocol version the producer may assume, sarama's
    ``Version`` (default 2.8.0); feature checks (headers, idempotence, zstd) use it.
    """

    producer: ProducerConfig = field(default_factory=ProducerConfig)
    net: NetConfig = field(default_factory=NetConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    client_id: str = "sarama"
    channel_buffer_size: int = 256
    version: tuple[int, ...] = (2, 8, 0)

    def validate(self) -> None:
        """Check every field, as sarama's ``Config.Validate`` does.

        Raises:
            ConfigurationError: naming the first offending field, ours and sarama's name.
        """
        _check_types(self, "")
        p, n, m = self.producer, self.net, self.metadata
        rules: list[tuple[bool, str, str]] = [
            (n.max_open_requests <= 0, "net.max_open_requests", "must be > 0"),
            (n.dial_timeout <= 0, "net.dial_timeout", "must be > 0"),
            (n.read_timeout <= 0, "net.read_timeout", "must be > 0"),
            (n.write_timeout <= 0, "net.write_timeout", "must be > 0"),
            (n.keep_alive < 0, "net.keep_alive", "must be >= 0"),
            (m.retry.max < 0, "metadata.retry.max", "must be >= 0"),
            (m.retry.backoff < 0, "metadata.retry.backoff", "must be >= 0"),
            (m.refresh_frequency < 0, "metadata.refresh_frequency", "must be >= 0"),
            (p.max_message_bytes <= 0, "producer.max_message_bytes", "must be > 0"),
            (p.required_acks < -1, "producer.required_acks", "must be >= -1"),
            (p.timeout <= 0, "producer.timeout", "must be > 0"),
            (p.partitioner is None, "producer.partitioner", "must not be None"),
            (p.flush.bytes < 0, "producer.flush.bytes", "must be >= 0"),
            (p.flush.messages < 0, "producer.flush.messages", "must be >= 0"),
            (p.flush.frequency < 0, "producer.flush.frequency", "must be >= 0"),
            (p.flush.max_messages < 0, "producer.flush.max_messages", "must be >= 0"),
            (0 < p.flush.max_messages < p.flush.messages, "producer.flush.max_messages",
             "must be >= producer.flush.messages when set"),
            (p.retry.max < 0, "producer.retry.max", "must be >= 0"),
            (p.retry.backoff < 0, "producer.retry.backoff", "must be >= 0"),
            (self.channel_buffer_size < 0, "channel_buffer_size", "must be >= 0"),
        ]
        for bad, name, what in rules:
            if bad:
                raise _error(name, what)
        if isinstance(p.partitioner, str) and p.partitioner not in PARTITIONERS:
            raise _error("producer.partitioner",
                         f"must be one of {sorted(PARTITIONERS)} or a callable, "
                         f"not {p.partitioner!r}")
        self._validate_compression()
        if p.idempotent:
            if self.version < (0, 11):
                raise _error("producer.idempotent", "requires version >= 0.11")
            if p.retry.max == 0:
                raise _error("producer.retry.max", "must be > 0 when producer.idempotent is set")
            if p.required_acks != RequiredAcks.WAIT_FOR_ALL:
                raise _error("producer.required_acks",
                             "must be WAIT_FOR_ALL (-1) when producer.idempotent is set")
            if n.max_open_requests > 1:
                raise _error("net.max_open_requests",
                             "must be 1 when producer.idempotent is set")
        if self.version < (1, 0) and not re.fullmatch(r"[A-Za-z0-9._-]+", self.client_id):
            raise _error("client_id", "is invalid")
        self._warn()

    def _validate_compression(self) -> None:
        p = self.producer
        try:
            codec = Compression(p.compression)
        except ValueError:
            raise _error("producer.compression",
                         f"must be one of {[c.value for c in Compression]}, "
                         f"not {p.compression!r}") from None
        if codec is Compression.LZ4 and self.version < (0, 10):
            raise _error("producer.compression", "lz4 requires version >= 0.10")
        if codec is Compression.ZSTD and self.version < (2, 1):
            raise _error("producer.compression", "zstd requires version >= 2.1")
        if (codec is Compression.GZIP and p.compression_level != COMPRESSION_LEVEL_DEFAULT
                and not -2 <= p.compression_level <= 9):
            raise _error("producer.compression_level",
                         f"{p.compression_level} is not a valid gzip level (-2 to 9)")

    def _warn(self) -> None:
        p = self.producer
        if p.required_acks > 1:
            log.warning("producer.required_acks > 1 (sarama: Producer.RequiredAcks) is deprecated "
                        "and will raise an error from the broker")
        if p.max_message_bytes >= MAX_REQUEST_SIZE:
            log.warning("producer.max_message_bytes (sarama: Producer.MaxMessageBytes) must be "
                        "smaller than the maximum request size; it will be ignored")
        if p.flush.bytes >= MAX_REQUEST_SIZE:
            log.warning("producer.flush.bytes (sarama: Producer.Flush.Bytes) must be smaller "
                        "than the maximum request size; it will be ignored")
        if (p.flush.bytes > 0 or p.flush.messages > 0) and p.flush.frequency == 0:
            log.warning("producer.flush.bytes or .messages is set without producer.flush."
                        "frequency (sarama: Producer.Flush.Frequency): a partial batch waits "
                        "for close()")
        millis = p.timeout * 1000
        if abs(millis - round(millis)) > 1e-6:
            log.warning("producer.timeout (sarama: Producer.Timeout) only supports millisecond "
                        "resolution; nanoseconds will be truncated")


# Our name -> sarama's, where the mechanical snake_case -> CamelCase rule is wrong.
_SARAMA_NAMES = {
    "producer.return_successes": "Producer.Return.Successes",
    "producer.return_errors": "Producer.Return.Errors",
    "client_id": "ClientID",
}


def sarama_name(name: str) -> str:
    """sarama's spelling of one of our field names: ``producer.retry.max`` ->
    ``Producer.Retry.Max``."""
    if name in _SARAMA_NAMES:
        return _SARAMA_NAMES[name]
    return ".".join("".join(part.title() for part in seg.split("_")) for seg in name.split("."))


def _error(name: str, what: str) -> ConfigurationError:
    return ConfigurationError(f"{name} (sarama: {sarama_name(name)}) {what}")


_NUMBER = (int, float)


def _check_types(obj: Any, prefix: str) -> None:
    """Reject wrong types field by field, before any rule compares values."""
    for f in fields(obj):
        name = prefix + f.name
        value = getattr(obj, f.name)
        default = f.default_factory() if callable(f.default_factory) else f.default
        if is_dataclass(default):
            if type(value) is not type(default):
                raise _error(name, f"must be a {type(default).__name__}, "
                                   f"not {type(value).__name__}")
            _check_types(value, name + ".")
            continue
        if name in ("producer.partitioner", "producer.retry.backoff_func",
                    "producer.compression", "producer.interceptors"):
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
            want = "a bool"
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
            want = "an int"
        elif isinstance(default, float):
            ok = isinstance(value, _NUMBER) and not isinstance(value, bool)
            want = "a number of seconds"
        elif isinstance(default, str):
            ok = isinstance(value, str)
            want = "a str"
        elif isinstance(default, tuple):
            ok = isinstance(value, tuple) and all(isinstance(v, int) for v in value)
            want = "a tuple of ints"
        else:
            continue
        if not ok:
            raise _error(name, f"must be {want}, not {type(value).__name__} {value!r}")
    if prefix == "producer.":
        p = obj
        if not (isinstance(p.partitioner, str) or callable(p.partitioner)):
            raise _error("producer.partitioner", "must be a name or a callable(topic)")
        if p.retry.backoff_func is not None and not callable(p.retry.backoff_func):
            raise _error("producer.retry.backoff_func", "must be callable or None")
        if not isinstance(p.interceptors, list | tuple):
            raise _error("producer.interceptors", "must be a list")
