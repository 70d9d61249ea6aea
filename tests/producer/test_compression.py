"""Compression codecs and levels (producer/_compression.py), without a broker: each
codec's output decodes with kafka-python's decoders (what a consumer uses), the level
changes the output, and a missing library fails the producer's construction."""

from __future__ import annotations

import random
import sys

import pytest
from kafka import codec as kcodec

from producer import AsyncProducer, Config, ConfigurationError, SyncProducer
from producer._compression import check_library, compressor
from producer._config import COMPRESSION_LEVEL_DEFAULT, Compression

_WORDS = [b"alpha", b"beta", b"gamma", b"delta", b"kafka", b"sarama", b"producer"]
_RNG = random.Random(7)
DATA = b" ".join(_RNG.choice(_WORDS) for _ in range(20_000))

DECODE = {
    Compression.GZIP: kcodec.gzip_decode,
    Compression.LZ4: kcodec.lz4_decode,
    Compression.ZSTD: kcodec.zstd_decode,
}

# codec -> (a fast level, a strong level)
LEVELS = {Compression.GZIP: (1, 9), Compression.LZ4: (0, 16), Compression.ZSTD: (1, 19)}


@pytest.mark.parametrize("codec", list(DECODE), ids=lambda c: c.value)
@pytest.mark.parametrize("level", ["default", "fast", "strong"])
def test_kafka_python_decodes_every_level(codec: Compression, level: str) -> None:
    value = {"default": COMPRESSION_LEVEL_DEFAULT, "fast": LEVELS[codec][0],
             "strong": LEVELS[codec][1]}[level]
    compress = compressor(codec, value)
    assert compress is not None
    out = compress(DATA)
    assert len(out) < len(DATA)
    assert bytes(DECODE[codec](out)) == DATA


@pytest.mark.parametrize("codec", list(LEVELS), ids=lambda c: c.value)
def test_a_higher_level_compresses_more(codec: Compression) -> None:
    fast, strong = (compressor(codec, level) for level in LEVELS[codec])
    assert fast is not None and strong is not None
    assert len(strong(DATA)) < len(fast(DATA))


def test_gzip_default_is_zlibs_default_level_6() -> None:
    """sarama's CompressionLevelDefault means the codec's default: 6 for gzip (Go's
    and the Java client's), not kafka-python's 9."""
    default, six, nine = (compressor(Compression.GZIP, lv) for lv in (-1000, 6, 9))
    assert default is not None and six is not None and nine is not None
    assert default(DATA) == six(DATA) != nine(DATA)


def test_gzip_huffman_only_and_stored_levels() -> None:
    huffman, stored, one = (compressor(Compression.GZIP, lv) for lv in (-2, 0, 1))
    assert huffman is not None and stored is not None and one is not None
    assert len(one(DATA)) < len(huffman(DATA)) < len(DATA) < len(stored(DATA))
    for compress in (huffman, stored):
        assert kcodec.gzip_decode(compress(DATA)) == DATA


def test_snappy_and_none_use_kafka_pythons_encoder() -> None:
    assert compressor(Compression.SNAPPY, COMPRESSION_LEVEL_DEFAULT) is None
    assert compressor(Compression.NONE, COMPRESSION_LEVEL_DEFAULT) is None


@pytest.mark.parametrize(("codec", "modules"), [
    (Compression.LZ4, ["lz4", "lz4.frame"]),
    (Compression.ZSTD, ["zstandard"]),
    (Compression.SNAPPY, ["snappy"]),
], ids=lambda v: v.value if isinstance(v, Compression) else "")
def test_missing_library_fails_construction(monkeypatch: pytest.MonkeyPatch,
                                            codec: Compression, modules: list[str]) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # `import module` raises ImportError
    config = Config()
    config.producer.compression = codec
    config.producer.return_successes = True
    with pytest.raises(ConfigurationError, match=rf"producer\.compression .*{codec.value}.*"
                       r"not installed.*gochan-producer\[compression\]"):
        check_library(codec)
    # At construction, before any connection (nothing listens on port 1).
    for cls in (AsyncProducer, SyncProducer):
        with pytest.raises(ConfigurationError, match="not installed"):
            cls("127.0.0.1:1", config)


def test_gzip_and_none_need_no_library(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("lz4", "lz4.frame", "zstandard", "snappy"):
        monkeypatch.setitem(sys.modules, module, None)
    check_library(Compression.GZIP)
    check_library(Compression.NONE)
