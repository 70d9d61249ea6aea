"""Partitioners (spec §4.7): murmur2 and FNV-1a against published vectors, and the
behaviour of round robin, manual and random. The bit-for-bit comparison with sarama
itself is in ``test_sarama_vectors.py``."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from producer import (
    PARTITIONERS,
    Crc32Partitioner,
    HashPartitioner,
    ManualPartitioner,
    Murmur2Partitioner,
    Partitioner,
    ProducerMessage,
    RandomPartitioner,
    RoundRobinPartitioner,
)
from producer._partitioner import fnv1a_32, murmur2


def msg(key: object = None, partition: int = -1) -> ProducerMessage:
    return ProducerMessage("t", value=b"v", key=key, partition=partition)  # type: ignore[arg-type]


# Apache Kafka's own vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java
# (testMurmur2), as signed Java ints.
KAFKA_MURMUR2 = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]

# sarama's partitioner_test.go (TestMurmur2), "verified against the Java client", unsigned.
SARAMA_MURMUR2 = [
    (b"foo", 597841616),
    (b"bar", 988958145),
    (b"baz", 1973573280),
    (b"", 275646681),
    (b"kafka", 3496464228),
    (b"sarama", 770765511),
]

# sarama's TestMurmur2Partitioner: the Java DefaultPartitioner's choice among 100 partitions.
JAVA_PARTITION_100 = [("foo", 16), ("bar", 45), ("baz", 80), ("kafka", 80), ("sarama", 11)]


@pytest.mark.parametrize(("data", "expected"), KAFKA_MURMUR2)
def test_murmur2_matches_kafka_utils_test(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


@pytest.mark.parametrize(("data", "expected"), SARAMA_MURMUR2)
def test_murmur2_matches_sarama_test(data: bytes, expected: int) -> None:
    assert murmur2(data) & 0xFFFFFFFF == expected
    assert -(2**31) <= murmur2(data) < 2**31


@pytest.mark.parametrize(("key", "expected"), JAVA_PARTITION_100)
def test_murmur2_partitioner_matches_java_default_partitioner(key: str, expected: int) -> None:
    assert Murmur2Partitioner("t").partition(msg(key), 100) == expected
    assert Murmur2Partitioner("t").partition(msg(key.encode()), 100) == expected


# The FNV authors' published test vectors for FNV-1a 32-bit.
FNV1A_32 = [
    (b"", 0x811C9DC5),
    (b"a", 0xE40C292C),
    (b"b", 0xE70C2DE5),
    (b"foo", 0xA9F37ED7),
    (b"foobar", 0xBF9CF968),
    (b"\x00", 0x050C5D1F),
    (b"chongo was here!\n", 0xD49930D5),
]


@pytest.mark.parametrize(("data", "expected"), FNV1A_32)
def test_fnv1a_32_vectors(data: bytes, expected: int) -> None:
    assert fnv1a_32(data) == expected


def test_hash_partitioner_negates_signed_remainder() -> None:
    # "foobar": FNV-1a 0xbf9cf968 is negative as int32 (-1080231576): Go's
    # int32 % n truncates toward zero and sarama negates the result.
    signed = 0xBF9CF968 - 2**32
    for n in (3, 7, 16, 100):
        go_rem = int(math.fmod(signed, n))
        assert HashPartitioner("t").partition(msg(b"foobar"), n) == -go_rem
    # the reference variant masks the sign bit first instead
    for n in (3, 7, 16, 100):
        assert PARTITIONERS["reference_hash"]("t").partition(msg(b"foobar"), n) == \
            (0xBF9CF968 & 0x7FFFFFFF) % n


def test_crc32_partitioner_is_unsigned_modulo() -> None:
    import zlib

    for key in (b"foobar", b"\xff" * 9, b"x"):
        for n in (3, 7, 100):
            assert Crc32Partitioner("t").partition(msg(key), n) == zlib.crc32(key) % n


@pytest.mark.parametrize("name", ["hash", "reference_hash", "murmur2", "crc32"])
def test_key_encodings_hash_alike(name: str) -> None:
    p = PARTITIONERS[name]("t")
    for n in (7, 64):
        want = p.partition(msg("ключ-🔑".encode()), n)
        assert p.partition(msg("ключ-🔑"), n) == want
        assert p.partition(msg(bytearray("ключ-🔑".encode())), n) == want
        assert p.partition(msg(memoryview("ключ-🔑".encode())), n) == want


@pytest.mark.parametrize("name", ["hash", "reference_hash", "murmur2", "crc32"])
def test_keyed_is_consistent_and_in_range(name: str) -> None:
    a, b = PARTITIONERS[name]("t"), PARTITIONERS[name]("other-topic")
    for i in range(300):
        key = f"key-{i}".encode()
        for n in (1, 2, 5):
            got = a.partition(msg(key), n)
            assert 0 <= got < n
            assert b.partition(msg(key), n) == got
    assert a.requires_consistency() is True


@pytest.mark.parametrize("name", ["hash", "reference_hash", "murmur2", "crc32"])
def test_nil_key_is_random(name: str) -> None:
    p = PARTITIONERS[name]("t")
    counts = Counter(p.partition(msg(None), 4) for _ in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(700 < c < 1300 for c in counts.values()), counts
    dyn = p.message_requires_consistency  # type: ignore[attr-defined]
    assert dyn(msg(None)) is False
    assert dyn(msg(b"k")) is True
    assert dyn(msg(b"")) is True  # an empty key is a key


def test_empty_key_is_hashed_not_random() -> None:
    p = HashPartitioner("t")
    # FNV-1a("") = 0x811c9dc5, negative as int32: -2128831035 % 100 -> -35 -> 35
    assert {p.partition(msg(b""), 100) for _ in range(50)} == {35}


@pytest.mark.parametrize("name", ["hash", "murmur2", "crc32"])
def test_bad_key_type_raises(name: str) -> None:
    with pytest.raises(TypeError, match="key"):
        PARTITIONERS[name]("t").partition(msg(12345), 3)


def test_random_partitioner_distribution() -> None:
    p = RandomPartitioner("t")
    n, draws = 10, 20_000
    counts = Counter(p.partition(msg(b"same key"), n) for _ in range(draws))
    assert set(counts) == set(range(n))
    expected = draws / n
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 40, counts  # 9 degrees of freedom: p(chi2 > 40) < 1e-5
    assert p.requires_consistency() is False
    assert all(p.partition(msg(), 1) == 0 for _ in range(20))


def test_round_robin_cycles_from_zero() -> None:
    p = RoundRobinPartitioner("t")
    assert [p.partition(msg(b"k"), 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert p.requires_consistency() is False


def test_round_robin_counter_is_per_instance() -> None:
    a, b = RoundRobinPartitioner("a"), RoundRobinPartitioner("b")
    assert [a.partition(msg(), 4) for _ in range(3)] == [0, 1, 2]
    assert [b.partition(msg(), 4) for _ in range(2)] == [0, 1]
    assert a.partition(msg(), 4) == 3


def test_round_robin_wraps_when_partitions_shrink() -> None:
    p = RoundRobinPartitioner("t")
    assert [p.partition(msg(), 5) for _ in range(4)] == [0, 1, 2, 3]
    assert [p.partition(msg(), 2) for _ in range(3)] == [0, 1, 0]


def test_manual_uses_message_partition() -> None:
    p = ManualPartitioner("t")
    for part in (0, 1, 5):
        assert p.partition(msg(b"k", partition=part), 8) == part
    # Out of range indexes are returned as given: the producer rejects them
    # with InvalidPartitionError (tested with the producer).
    assert p.partition(msg(b"k", partition=9), 8) == 9
    assert p.partition(msg(b"k"), 8) == -1
    assert p.requires_consistency() is True


def test_registry_and_protocol() -> None:
    assert set(PARTITIONERS) == {"hash", "reference_hash", "murmur2", "crc32", "random",
                                 "round_robin", "manual"}
    for name, ctor in PARTITIONERS.items():
        inst = ctor("topic")
        assert isinstance(inst, Partitioner), name


# -- one spelling set everywhere (issue 14, item 6) ----------------------------------------

SPELLINGS = [
    ("roundrobin", "round_robin"),  # sarama's perf tool
    ("RoundRobin", "round_robin"),
    ("round-robin", "round_robin"),
    ("NewRoundRobinPartitioner", "round_robin"),  # sarama's constructor
    ("NewHashPartitioner", "hash"),
    ("ReferenceHash", "reference_hash"),
    ("NewReferenceHashPartitioner", "reference_hash"),
    ("ConsistentCRCHash", "crc32"),
    ("NewConsistentCRCHashPartitioner", "crc32"),
    ("NewRandomPartitioner", "random"),
    ("NewManualPartitioner", "manual"),
    ("Murmur2", "murmur2"),
    *((name, name) for name in ("hash", "reference_hash", "murmur2", "crc32", "random",
                                "round_robin", "manual")),
]


@pytest.mark.parametrize(("spelling", "ours"), SPELLINGS)
def test_config_takes_every_spelling_the_perf_tool_takes(spelling: str, ours: str) -> None:
    import argparse

    from producer import Config
    from producer._partitioner import partitioner_name
    from producer._perf import add_arguments

    assert partitioner_name(spelling) == ours
    c = Config()
    c.producer.partitioner = spelling
    c.validate()  # before: 'roundrobin' passed the perf CLI but not Config
    assert PARTITIONERS[spelling] is PARTITIONERS[ours] and spelling in PARTITIONERS
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--partitioner", spelling])
    assert args.partitioner == ours


@pytest.mark.parametrize("bad", ["nope", "round", "hashing", "", 5, None])
def test_unknown_spellings_are_refused_everywhere(bad: object) -> None:
    import argparse

    from producer import Config, ConfigurationError
    from producer._perf import add_arguments

    assert bad not in PARTITIONERS
    c = Config()
    c.producer.partitioner = bad  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match=r"producer\.partitioner"):
        c.validate()
    if isinstance(bad, str):
        parser = argparse.ArgumentParser(exit_on_error=False)
        add_arguments(parser)
        with pytest.raises(argparse.ArgumentError, match="invalid choice"):
            parser.parse_args(["--partitioner", bad])
