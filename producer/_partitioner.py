"""Partitioners, bit-for-bit those of sarama.

A partitioner returns an index in ``[0, num_partitions)``. Like sarama's
``PartitionerConstructor``, ``config.producer.partitioner`` is a name from
:data:`PARTITIONERS` or a callable ``f(topic) -> Partitioner``; each topic gets its
own instance.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ._message import ProducerMessage, encode_bytes

__all__ = [
    "PARTITIONERS",
    "Crc32Partitioner",
    "HashPartitioner",
    "ManualPartitioner",
    "Murmur2Partitioner",
    "Partitioner",
    "PartitionerConstructor",
    "RandomPartitioner",
    "RoundRobinPartitioner",
    "fnv1a_32",
    "murmur2",
    "partitioner_name",
]


@runtime_checkable
class Partitioner(Protocol):
    """sarama's ``Partitioner`` interface."""

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        """The partition index for ``msg`` among ``num_partitions``."""
        ...

    def requires_consistency(self) -> bool:
        """Whether the choice must be honoured even for partitions without a leader."""
        ...


PartitionerConstructor = Callable[[str], Partitioner]


def fnv1a_32(data: bytes | bytearray | memoryview) -> int:
    """FNV-1a, 32 bits (Go's ``hash/fnv.New32a``), as an unsigned int."""
    h = 0x811C9DC5
    for byte in bytes(data):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def murmur2(data: bytes | bytearray | memoryview) -> int:
    """The Java client's murmur2 (seed 0x9747b28c), as a signed 32-bit int."""
    data = bytes(data)
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    end = length & ~3
    for i in range(0, end, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length & 3
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - 0x100000000 if h & 0x80000000 else h


def _signed32(h: int) -> int:
    return h - 0x100000000 if h & 0x80000000 else h


def _key_bytes(msg: ProducerMessage) -> bytes | bytearray | memoryview | None:
    return encode_bytes("key", msg.key)


class RandomPartitioner:
    """sarama's ``NewRandomPartitioner``: uniform random, not consistent."""

    def __init__(self, topic: str = "") -> None:
        self._random = random.Random()

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        return int(self._random.random() * num_partitions)  # randrange is 3x slower

    def requires_consistency(self) -> bool:
        return False


class RoundRobinPartitioner:
    """sarama's ``NewRoundRobinPartitioner``: 0, 1, 2, ... per topic, wrapping around."""

    def __init__(self, topic: str = "") -> None:
        self._next = 0

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        if self._next >= num_partitions:
            self._next = 0
        chosen = self._next
        self._next += 1
        return chosen

    def requires_consistency(self) -> bool:
        return False


class ManualPartitioner:
    """sarama's ``NewManualPartitioner``: uses ``msg.partition`` as given."""

    def __init__(self, topic: str = "") -> None:
        pass

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        return msg.partition

    def requires_consistency(self) -> bool:
        return True


class HashPartitioner:
    """sarama's ``NewHashPartitioner`` (the default): FNV-1a of the key.

    A ``None`` key picks a random partition. Otherwise the hash is taken as a
    signed int32, ``% n`` with Go's truncating remainder, negated if negative
    (``reference_abs=False``), or masked to 31 bits first (``reference_abs=True``,
    sarama's ``NewReferenceHashPartitioner``). ``hasher`` swaps the hash function
    (sarama's ``NewCustomHashPartitioner``); it returns an unsigned 32-bit int.
    """

    def __init__(
        self,
        topic: str = "",
        *,
        reference_abs: bool = False,
        hasher: Callable[[bytes | bytearray | memoryview], int] = fnv1a_32,
    ) -> None:
        self._random = RandomPartitioner(topic)
        self._reference_abs = reference_abs
        self._hasher = hasher

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        key = _key_bytes(msg)
        if key is None:
            return self._random.partition(msg, num_partitions)
        h = self._hasher(key) & 0xFFFFFFFF
        if self._reference_abs:
            return (h & 0x7FFFFFFF) % num_partitions
        # Go: int32(h) % n truncates toward zero, then the sign is dropped.
        return abs(_signed32(h)) % num_partitions

    def requires_consistency(self) -> bool:
        return True

    def message_requires_consistency(self, msg: ProducerMessage) -> bool:
        """sarama's ``DynamicConsistencyPartitioner``: only keyed messages need it."""
        return msg.key is not None


class Murmur2Partitioner:
    """sarama's ``NewMurmur2Partitioner``, the Java client's default for keyed messages:
    ``(murmur2(key) & 0x7fffffff) % n``; a ``None`` key picks a random partition."""

    def __init__(self, topic: str = "") -> None:
        self._random = RandomPartitioner(topic)

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        key = _key_bytes(msg)
        if key is None:
            return self._random.partition(msg, num_partitions)
        return (murmur2(key) & 0x7FFFFFFF) % num_partitions

    def requires_consistency(self) -> bool:
        return True

    def message_requires_consistency(self, msg: ProducerMessage) -> bool:
        """Only keyed messages need a consistent choice."""
        return msg.key is not None


class Crc32Partitioner(HashPartitioner):
    """sarama's ``NewConsistentCRCHashPartitioner``: CRC-32 (IEEE) of the key,
    unsigned, ``% n``; a ``None`` key picks a random partition."""

    def __init__(self, topic: str = "") -> None:
        super().__init__(topic, reference_abs=True, hasher=zlib.crc32)

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        key = _key_bytes(msg)
        if key is None:
            return self._random.partition(msg, num_partitions)
        return zlib.crc32(key) % num_partitions


def _reference_hash(topic: str) -> Partitioner:
    return HashPartitioner(topic, reference_abs=True)


# Spellings, normalized by _normalize, -> our name: ours, and sarama's constructors
# (NewRoundRobinPartitioner) and its perf tool's (roundrobin) as aliases.
_ALIASES = {
    "hash": "hash",
    "referencehash": "reference_hash",
    "murmur2": "murmur2",
    "crc32": "crc32",
    "consistentcrchash": "crc32",
    "consistentcrc": "crc32",
    "random": "random",
    "roundrobin": "round_robin",
    "manual": "manual",
}


def _normalize(name: str) -> str:
    key = name.lower().replace("_", "").replace("-", "").replace(" ", "")
    if key.endswith("partitioner"):
        key = key.removesuffix("partitioner").removeprefix("new")
    return key


def partitioner_name(name: str) -> str | None:
    """Our name for a partitioner spelling (``"RoundRobin"``, ``"roundrobin"``,
    ``"NewRoundRobinPartitioner"`` -> ``"round_robin"``); ``None`` if unknown."""
    return _ALIASES.get(_normalize(name)) if isinstance(name, str) else None


class _ByName(dict[str, PartitionerConstructor]):
    """The constructors under our names; lookups and ``in`` also take the aliases."""

    def __missing__(self, key: str) -> PartitionerConstructor:
        name = partitioner_name(key)
        if name is None:
            raise KeyError(key)
        return self[name]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and partitioner_name(key) is not None


PARTITIONERS: dict[str, PartitionerConstructor] = _ByName({
    "hash": HashPartitioner,
    "reference_hash": _reference_hash,
    "murmur2": Murmur2Partitioner,
    "crc32": Crc32Partitioner,
    "random": RandomPartitioner,
    "round_robin": RoundRobinPartitioner,
    "manual": ManualPartitioner,
})
"""Partitioners by name, for ``config.producer.partitioner`` (and ``python -m producer
perf --partitioner``). One spelling set everywhere: these names, and as aliases
sarama's (``roundrobin``, ``NewRoundRobinPartitioner``, ``ConsistentCRCHash``...),
in any case, with or without ``_``/``-``."""
