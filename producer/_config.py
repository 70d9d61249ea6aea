"""``Config``: sarama's configuration tree in snake_case, with sarama's defaults and rules.

``Config().producer.retry.max`` is sarama's ``Config.Producer.Retry.Max``. The
two exceptions to the mechanical renaming are sarama's ``Producer.Return.Successes``
and ``.Errors``, which are ``producer.return_successes`` and
``producer.return_errors`` here. :meth:`Config.validate` applies every rule of
sarama's ``Config.Validate`` that concerns a producer; a violation raises
:class:`ConfigurationError` naming the field in both spellings, and sarama's
warnings are logged on the ``producer`` logger. Durations are float seconds.

Every node of the tree (every dataclass reachable from :class:`Config`, found at
import) refuses an attribute that is not one of its fields, with an
``AttributeError`` that suggests the nearest field:
``producer.return_success is not a config field; did you mean
producer.return_successes?``. A typo is never silently accepted.
"""

from __future__ import annotations

import difflib
import enum
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from ._errors import ConfigurationError
from ._partitioner import PARTITIONERS, Partitioner

__all__ = [
    "COMPRESSION_LEVELS",
    "COMPRESSION_LEVEL_DEFAULT",
    "Compression",
    "Config",
    "FlushConfig",
    "MetadataConfig",
    "MetadataRetryConfig",
    "NetConfig",
    "ProducerConfig",
    "RequiredAcks",
    "RetryConfig",
    "SASLConfig",
    "SASLMechanism",
    "TLSConfig",
    "TransactionConfig",
    "TransactionRetryConfig",
]

log = logging.getLogger("producer")

MAX_REQUEST_SIZE = 100 * 1024 * 1024  # sarama's MaxRequestSize
COMPRESSION_LEVEL_DEFAULT = -1000  # sarama's CompressionLevelDefault: the codec's default
WRITE_TIMEOUT_DEFAULT = 30.0  # sarama's Net.WriteTimeout, the only value we take


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


# codec -> the (lowest, highest) producer.compression_level it takes (the meaning of
# each level: producer/_compression.py); the others have no levels.
COMPRESSION_LEVELS = {Compression.GZIP: (-2, 9), Compression.LZ4: (0, 16),
                      Compression.ZSTD: (-131072, 22)}


@dataclass
class RetryConfig:
    """``Producer.Retry``: retries per message and the wait between attempts.

    ``backoff_func(retries, max)`` (sarama's ``BackoffFunc``), when set, is the wait in
    seconds before retry number ``retries`` (1 for the first) of a batch, instead of
    ``backoff``. ``max_buffer_length`` / ``max_buffer_bytes`` (sarama's caps on its
    retry queue) are refused when set: retried messages stay in their batches, inside
    the window of ``4 * max(channel_buffer_size, 1)`` messages in flight, which bounds
    them already.
    """

    max: int = 3
    backoff: float = 0.1
    backoff_func: Callable[[int, int], float] | None = None
    max_buffer_length: int = 0
    max_buffer_bytes: int = 0


@dataclass
class FlushConfig:
    """``Producer.Flush``: when a batch is sent. All zero means "as fast as possible".

    ``frequency`` is the longest a batch waits for more records (kafka-python's
    ``linger``); ``bytes`` the batch size in bytes. ``messages``: a partition's batch
    is sent as soon as it holds that many records; it needs ``frequency`` (sarama
    would hold a smaller batch until close). ``max_messages``: no batch holds more.
    kafka-python batches per partition, so both count a partition's batch, where
    sarama counts a broker's request (the same with one partition per broker), and a
    batch that reached ``messages`` takes no more records while it waits to be sent
    (sarama's may grow up to ``max_messages`` meanwhile).
    """

    bytes: int = 0
    messages: int = 0
    frequency: float = 0.0
    max_messages: int = 0


@dataclass
class TransactionRetryConfig:
    """``Producer.Transaction.Retry``: attempts and wait for the transaction requests
    (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn)."""

    max: int = 50
    backoff: float = 0.1


@dataclass
class TransactionConfig:
    """``Producer.Transaction``: ``id`` (sarama's ``Transaction.ID``) makes the producer
    transactional; it needs ``producer.idempotent``. ``timeout`` is how long the broker
    lets a transaction stay open before it aborts it."""

    id: str = ""
    timeout: float = 60.0
    retry: TransactionRetryConfig = field(default_factory=TransactionRetryConfig)


@dataclass
class ProducerConfig:
    """``Producer``: what a producer does with each message.

    ``partitioner`` is a name from :data:`~producer.PARTITIONERS` (sarama's names are
    aliases) or a callable ``topic -> Partitioner``. ``interceptors`` are sarama's
    ``ProducerInterceptor`` s: objects whose ``on_send(msg)`` the dispatcher calls for
    each accepted message before its checks and partitioning; an exception there is
    logged and ignored.
    """

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
    transaction: TransactionConfig = field(default_factory=TransactionConfig)


class SASLMechanism(str, enum.Enum):
    """sarama's ``SASLMechanism`` values this producer supports."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    OAUTHBEARER = "OAUTHBEARER"


@dataclass
class TLSConfig:
    """``Net.TLS``: encrypt the connections to the brokers.

    ``config`` is the :class:`ssl.SSLContext` to use (sarama's ``*tls.Config``); ``None``
    means ``ssl.create_default_context()``: the system's CAs, host names checked.
    """

    enable: bool = False
    config: ssl.SSLContext | None = None


@dataclass
class SASLConfig:
    """``Net.SASL``: authenticate each connection.

    ``user``/``password`` for PLAIN and SCRAM; ``token_provider`` for OAUTHBEARER: a
    callable returning the access token (a ``str``), called on every authentication,
    that is for each new connection and each re-authentication the broker asks for
    before the previous token expires (sarama's ``AccessTokenProvider.Token``); cache
    inside it if fetching a token is expensive. ``handshake`` must stay True: the
    Kafka client always sends the SaslHandshake request. The password is left out of
    ``repr()``.
    """

    enable: bool = False
    mechanism: SASLMechanism | str = SASLMechanism.PLAIN
    user: str = ""
    password: str = field(default="", repr=False)
    token_provider: Callable[[], str] | None = None
    handshake: bool = True


@dataclass
class NetConfig:
    """``Net``: connections to the brokers.

    ``read_timeout``: the longest a request waits for its response; a request also
    waits at most ``producer.timeout`` (the broker's own wait for acknowledgements),
    so the smaller of the two ends an attempt on a stalled connection.
    ``write_timeout`` must keep its default: the Kafka client has one deadline per
    request, from its write to its response (``read_timeout``). ``keep_alive``: the
    TCP keep-alive period (idle time and probe interval) of each connection: 0 means
    Go's default of 15 s, a negative value turns keep-alives off (sarama's rules).
    """

    max_open_requests: int = 5
    dial_timeout: float = 30.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    keep_alive: float = 0.0
    tls: TLSConfig = field(default_factory=TLSConfig)
    sasl: SASLConfig = field(default_factory=SASLConfig)


@dataclass
class MetadataRetryConfig:
    """``Metadata.Retry``."""

    max: int = 3
    backoff: float = 0.25


@dataclass
class MetadataConfig:
    """``Metadata``: how cluster metadata is fetched and refreshed.

    ``full``: each refresh asks for every topic in the cluster (sarama's default);
    ``False``: only for the topics this producer has written to. A topic the producer
    does not know yet is always asked for by name, so it can be auto-created.
    """

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
            (p.flush.messages > 0 and p.flush.frequency == 0, "producer.flush.messages",
             "is not supported without producer.flush.frequency (sarama: Producer.Flush."
             "Frequency): sarama would hold a smaller batch until close(); set flush.frequency "
             "to bound how long a batch waits for its messages, or use flush.max_messages to "
             "only cap a batch"),
            (p.retry.max < 0, "producer.retry.max", "must be >= 0"),
            (p.retry.backoff < 0, "producer.retry.backoff", "must be >= 0"),
            (self.channel_buffer_size < 0, "channel_buffer_size", "must be >= 0"),
        ]
        for bad, name, what in rules:
            if bad:
                raise _error(name, what)
        if isinstance(p.partitioner, str) and p.partitioner not in PARTITIONERS:
            raise _error("producer.partitioner",
                         f"must be one of {sorted(PARTITIONERS)} (sarama's names, such as "
                         f"'roundrobin', are accepted too) or a callable, "
                         f"not {p.partitioner!r}")
        self._refuse_unsupported()
        self._validate_compression()
        self._validate_security()
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
        self._validate_transaction()
        if self.version < (1, 0) and not re.fullmatch(r"[A-Za-z0-9._-]+", self.client_id):
            raise _error("client_id", "is invalid")
        self._warn()

    def _refuse_unsupported(self) -> None:
        """sarama settings the Kafka client cannot honour: refused, saying what to use."""
        p, n = self.producer, self.net
        if p.retry.max_buffer_length != 0 or p.retry.max_buffer_bytes != 0:
            name = ("producer.retry.max_buffer_length" if p.retry.max_buffer_length != 0
                    else "producer.retry.max_buffer_bytes")
            raise _error(name, "is not supported: retried messages stay in their batches "
                               "inside the window of 4 * max(channel_buffer_size, 1) messages "
                               "in flight, which already bounds them; lower channel_buffer_size "
                               "to hold fewer, and leave this at 0")
        if n.write_timeout != WRITE_TIMEOUT_DEFAULT:
            raise _error("net.write_timeout",
                         "is not supported: the Kafka client has one deadline per request, "
                         "from its write to its response; set net.read_timeout (and "
                         f"producer.timeout) instead, and leave this at "
                         f"{WRITE_TIMEOUT_DEFAULT:g}")
        func = p.retry.backoff_func
        if func is not None:
            try:
                wait = func(1, max(p.retry.max, 1))
            except Exception as exc:
                raise _error("producer.retry.backoff_func",
                             f"raised {type(exc).__name__}: {exc} when called with "
                             f"(1, {max(p.retry.max, 1)})") from exc
            if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
                raise _error("producer.retry.backoff_func",
                             f"must return seconds (a number >= 0), not {wait!r}")

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
        level = p.compression_level
        if level == COMPRESSION_LEVEL_DEFAULT:
            return
        levels = COMPRESSION_LEVELS.get(codec)
        if levels is None:
            raise _error("producer.compression_level",
                         f"is {level}, but {codec.value} has no compression levels: leave it "
                         f"at COMPRESSION_LEVEL_DEFAULT ({COMPRESSION_LEVEL_DEFAULT}), or "
                         f"choose gzip, lz4 or zstd")
        low, high = levels
        if not low <= level <= high:
            raise _error("producer.compression_level",
                         f"{level} is not a valid {codec.value} level ({low} to {high}, or "
                         f"COMPRESSION_LEVEL_DEFAULT = {COMPRESSION_LEVEL_DEFAULT})")

    def _validate_transaction(self) -> None:
        """sarama's rule (a transaction id needs idempotence, and so acks=all and one
        open request) plus the ranges sarama leaves to the broker."""
        t = self.producer.transaction
        rules = [
            (t.timeout <= 0, "producer.transaction.timeout", "must be > 0"),
            (t.timeout > 2**31 / 1000, "producer.transaction.timeout",
             "must fit the protocol's int32 milliseconds"),
            (t.retry.max < 0, "producer.transaction.retry.max", "must be >= 0"),
            (t.retry.backoff < 0, "producer.transaction.retry.backoff", "must be >= 0"),
        ]
        for bad, name, what in rules:
            if bad:
                raise _error(name, what)
        if t.id and not self.producer.idempotent:
            raise _error("producer.transaction.id",
                         "requires producer.idempotent (sarama: Producer.Idempotent) to be "
                         "True (and so producer.required_acks = WAIT_FOR_ALL and "
                         "net.max_open_requests = 1)")

    def _validate_security(self) -> None:
        """sarama's ``Net.SASL`` rules (``Net.TLS`` has none beyond its types)."""
        sasl = self.net.sasl
        if not sasl.enable:
            return
        try:
            mechanism = SASLMechanism(sasl.mechanism)
        except ValueError:
            extra = (" (GSSAPI/Kerberos and AWS_MSK_IAM are not supported)"
                     if str(sasl.mechanism).upper() in ("GSSAPI", "AWS_MSK_IAM") else "")
            raise _error("net.sasl.mechanism",
                         f"must be one of {[m.value for m in SASLMechanism]}, "
                         f"not {sasl.mechanism!r}{extra}") from None
        if mechanism is SASLMechanism.OAUTHBEARER:
            if sasl.token_provider is None:
                raise _error("net.sasl.token_provider",
                             "must be set (a callable returning a token) when "
                             "net.sasl.mechanism is OAUTHBEARER")
        else:
            if not sasl.user:
                raise _error("net.sasl.user", "must not be empty when SASL is enabled")
            if not sasl.password:
                raise _error("net.sasl.password", "must not be empty when SASL is enabled")
        if not sasl.handshake:
            raise _error("net.sasl.handshake",
                         "must be True: the Kafka client always sends SaslHandshake "
                         "(brokers since 0.10 require it)")

    def _warn(self) -> None:
        n = self.net
        if not n.tls.enable and n.tls.config is not None:
            log.warning("net.tls (sarama: Net.TLS) is disabled but a non-None "
                        "net.tls.config was provided")
        if not n.sasl.enable:
            if n.sasl.user:
                log.warning("net.sasl (sarama: Net.SASL) is disabled but a non-empty "
                            "username was provided")
            if n.sasl.password:
                log.warning("net.sasl (sarama: Net.SASL) is disabled but a non-empty "
                            "password was provided")
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
        if p.flush.bytes > 0 and p.flush.frequency == 0:
            log.warning("producer.flush.bytes is set without producer.flush.frequency "
                        "(sarama: Producer.Flush.Frequency): sarama would hold a partial batch "
                        "until close(); here it is sent as soon as the connection is free")
        millis = p.timeout * 1000
        if abs(millis - round(millis)) > 1e-6:
            log.warning("producer.timeout (sarama: Producer.Timeout) only supports millisecond "
                        "resolution; nanoseconds will be truncated")


# Our name -> sarama's, where the mechanical snake_case -> CamelCase rule is wrong.
_SARAMA_NAMES = {
    "producer.return_successes": "Producer.Return.Successes",
    "producer.return_errors": "Producer.Return.Errors",
    "client_id": "ClientID",
    "producer.transaction.id": "Producer.Transaction.ID",
}
_SARAMA_SEGMENTS = {"tls": "TLS", "sasl": "SASL"}


def sarama_name(name: str) -> str:
    """sarama's spelling of one of our field names: ``producer.retry.max`` ->
    ``Producer.Retry.Max``."""
    if name in _SARAMA_NAMES:
        return _SARAMA_NAMES[name]
    return ".".join(_SARAMA_SEGMENTS.get(seg) or "".join(part.title() for part in seg.split("_"))
                    for seg in name.split("."))


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
                    "producer.compression", "producer.interceptors", "net.sasl.mechanism"):
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
    if (prefix == "net.tls." and obj.config is not None
            and not isinstance(obj.config, ssl.SSLContext)):
        raise _error("net.tls.config",
                     f"must be an ssl.SSLContext or None, not {type(obj.config).__name__}")
    if prefix == "net.sasl.":
        if not isinstance(obj.mechanism, str):
            raise _error("net.sasl.mechanism",
                         f"must be a str, not {type(obj.mechanism).__name__}")
        if obj.token_provider is not None and not callable(obj.token_provider):
            raise _error("net.sasl.token_provider", "must be a callable returning a token, "
                         f"or None, not {type(obj.token_provider).__name__}")
    if prefix == "producer.":
        p = obj
        if not (isinstance(p.partitioner, str) or callable(p.partitioner)):
            raise _error("producer.partitioner", "must be a name or a callable(topic)")
        if p.retry.backoff_func is not None and not callable(p.retry.backoff_func):
            raise _error("producer.retry.backoff_func", "must be callable or None")
        if not isinstance(p.interceptors, list | tuple):
            raise _error("producer.interceptors", "must be a list")


# -- unknown attributes: every node refuses them ---------------------------------------

# Node class -> its path in the tree ("producer.retry."), filled by _guard_nodes.
_NODE_PATHS: dict[type, str] = {}


def _unknown_field(node: object, name: str) -> AttributeError:
    """The error for ``name`` on a config node, suggesting the nearest field."""
    path = _NODE_PATHS.get(type(node), "")
    known = [f.name for f in fields(node)]  # type: ignore[arg-type]
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()  # sarama's spelling
    close = [snake] if snake in known else difflib.get_close_matches(name, known, n=1)
    if close:
        hint = f"did you mean {path}{close[0]}?"
    else:
        hint = f"the fields of {path[:-1] or 'Config'} are: {', '.join(known)}"
    err = AttributeError(f"{path}{name} is not a config field; {hint}")
    err.name, err.obj = name, node
    return err


def _guarded_setattr(self: object, name: str, value: Any) -> None:
    if name not in self.__dataclass_fields__:  # type: ignore[attr-defined]
        raise _unknown_field(self, name)
    object.__setattr__(self, name, value)


def _guarded_getattr(self: object, name: str) -> Any:
    # Only called when normal lookup failed: a typo on read.
    if name.startswith("__"):
        raise AttributeError(name)  # protocols probed by copy, pickle, ...
    raise _unknown_field(self, name)


def _guard_nodes(cls: type, path: str) -> None:
    """Make ``cls`` and every node below it refuse unknown attributes.

    Walks the tree through the fields' default factories, so a node added anywhere
    under :class:`Config` is guarded without further code.
    """
    _NODE_PATHS.setdefault(cls, path)
    cls.__setattr__ = _guarded_setattr  # type: ignore[assignment]
    cls.__getattr__ = _guarded_getattr  # type: ignore[attr-defined]
    for f in fields(cls):
        factory: object = f.default_factory
        if isinstance(factory, type) and is_dataclass(factory):
            _guard_nodes(factory, f"{path}{f.name}.")


_guard_nodes(Config, "")
