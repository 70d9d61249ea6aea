"""The checks a message passes before it is sent, written once for the producers and
:mod:`producer.mocks`.

sarama's dispatcher checks headers against ``Version`` and the size estimate against
``Producer.MaxMessageBytes``; its topic stage asks the partitioner for an index and
fails an index out of range. Ours add what Python needs (types, topic names,
timestamps) and kafka-python's rule that a record has a key or a value. The real
dispatcher calls :func:`prepare` then :func:`partition_index`; so do the mocks, so
both fail a bad message with the same exception and the same words
(tests/producer/reliability/test_bad_input.py runs its table against both).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ._errors import ConfigurationError, InvalidPartitionError, InvalidTopicError
from ._message import ProducerMessage, encode_bytes
from ._partitioner import PARTITIONERS, Partitioner

__all__ = [
    "HEADER_OVERHEAD",
    "RECORD_OVERHEAD",
    "TOPIC_RE",
    "check_topic",
    "encode_headers",
    "new_partitioner",
    "partition_index",
    "prepare",
    "timestamp_ms",
]

TOPIC_RE = re.compile(r"[A-Za-z0-9._-]{1,249}")  # Kafka's legal topic names
RECORD_OVERHEAD = 36  # sarama's maximumRecordOverhead (record format v2, Kafka >= 0.11)
LEGACY_OVERHEAD = 26  # sarama's producerMessageOverhead (older message formats)
HEADER_OVERHEAD = 10  # sarama's 2 * binary.MaxVarintLen32 per header

Prepared = tuple[Any, Any, "list[tuple[str, bytes]] | None", "int | None"]


def check_topic(topic: object) -> None:
    """Raises :class:`InvalidTopicError` unless ``topic`` is a legal Kafka topic name."""
    if not isinstance(topic, str):
        raise InvalidTopicError(f"topic must be a str, not {type(topic).__name__}")
    if not topic:
        raise InvalidTopicError("topic name is missing")
    if not TOPIC_RE.fullmatch(topic) or topic in (".", ".."):
        raise InvalidTopicError(
            f"topic {topic!r} is not a valid Kafka topic name "
            "(1-249 characters of [a-zA-Z0-9._-], not '.' or '..')")


def encode_headers(headers: Any) -> list[tuple[str, bytes]] | None:
    """Headers as the wire wants them: a list of ``(str, bytes)``; ``None`` if empty.

    Raises:
        TypeError: not ``(key, value)`` pairs of str/bytes.
    """
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    out = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError(f"a header must be a (key, value) pair, not {item!r}")
        key, value = item
        if isinstance(key, bytes | bytearray):
            key = bytes(key).decode("utf-8", "surrogateescape")
        if not isinstance(key, str):
            raise TypeError(f"header key must be str or bytes, not {type(key).__name__}")
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif isinstance(value, bytearray | memoryview):
            value = bytes(value)
        elif not isinstance(value, bytes):
            raise TypeError(f"header value must be bytes or str, not {type(value).__name__}")
        out.append((key, value))
    return out


# Seconds since the epoch beyond this (the year 5138) are no date anyone means: such a
# value is milliseconds (kafka-python's and the Java client's unit) or worse.
_MAX_SECONDS = 1e11
_SECONDS_PER_YEAR = 365.2425 * 86400


def timestamp_ms(timestamp: object) -> int:
    """A message's ``timestamp`` (seconds since the epoch) as Kafka's milliseconds.

    Raises:
        TypeError: not a number.
        ValueError: not finite, before the epoch, or implausibly far in the future,
            which is what a timestamp in milliseconds looks like as seconds.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise TypeError(f"message timestamp must be seconds since the epoch (a number), "
                        f"not {type(timestamp).__name__}")
    if not math.isfinite(timestamp):
        raise ValueError(f"message timestamp must be a finite number of seconds, "
                         f"not {timestamp!r}")
    if timestamp >= _MAX_SECONDS:
        year = 1970 + timestamp / _SECONDS_PER_YEAR
        raise ValueError(
            f"message timestamp {timestamp!r} is implausible as seconds since the epoch "
            f"(the year {year:.0f}): timestamps are seconds, not milliseconds "
            f"(time.time(), or a millisecond value / 1000)")
    if timestamp < 0:
        raise ValueError(f"message timestamp {timestamp!r} is before 1970: Kafka timestamps "
                         f"must not be negative")
    return int(timestamp * 1000)


def prepare(msg: ProducerMessage, max_bytes: int, topic_known: bool = False,
            headers_ok: bool = True) -> Prepared:
    """Every check of one message but its partition, in order: topic, key, value,
    headers, "a key or a value", timestamp, size (sarama's ``ByteSize`` estimate).

    ``headers_ok`` is ``config.version >= (0, 11)`` (record format v2); before it,
    sarama refuses headers and uses the older, smaller overhead. ``topic_known``
    skips the topic check for a name that passed it before.

    Returns:
        ``(key, value, headers, timestamp_ms)``, encoded for the wire.

    Raises:
        InvalidTopicError, TypeError, ValueError, ConfigurationError: the message's
            problem, the same for the producers and the mocks.
    """
    if not topic_known:
        check_topic(msg.topic)
    key = encode_bytes("key", msg.key)
    value = encode_bytes("value", msg.value)
    headers = encode_headers(msg.headers)
    if key is None and value is None:
        raise ValueError("Need at least one: key or value")  # kafka-python's rule, its words
    ts = None if msg.timestamp is None else timestamp_ms(msg.timestamp)
    if headers_ok:
        size = RECORD_OVERHEAD
        if headers:
            size += sum(len(k) + len(v) + HEADER_OVERHEAD for k, v in headers)
    elif msg.headers is not None:
        raise ConfigurationError("Producing headers requires Kafka at least v0.11 "
                                 "(config.version; sarama: Version)")
    else:
        size = LEGACY_OVERHEAD
    size += (len(key) if key is not None else 0) + (len(value) if value is not None else 0)
    if size > max_bytes:
        raise ConfigurationError(
            f"Attempt to produce message larger than configured "
            f"producer.max_message_bytes (sarama: Producer.MaxMessageBytes): "
            f"{size} > {max_bytes}")
    return key, value, headers, ts


def new_partitioner(chosen: str | Callable[[str], Partitioner], topic: str) -> Partitioner:
    """The partitioner for ``topic`` (one per topic, as sarama's topic stage makes)."""
    factory = PARTITIONERS[chosen] if isinstance(chosen, str) else chosen
    return factory(topic)


def partition_index(partitioner: Partitioner, msg: ProducerMessage, n: int) -> int:
    """The partitioner's choice among ``n`` partitions, checked (sarama's
    ``ErrInvalidPartition``).

    Raises:
        InvalidPartitionError: not an int in ``[0, n)``.
    """
    index = partitioner.partition(msg, n)
    if type(index) is not int or not 0 <= index < n:
        raise InvalidPartitionError(
            f"kafka: partitioner returned an invalid partition index ({index!r}; "
            f"topic {msg.topic!r} has {n} partitions)")
    return index
