"""Compression codecs and sarama's ``Producer.CompressionLevel``.

The codecs are kafka-python's (its ``kafka.codec`` picks the libraries): gzip from the
standard library, snappy from ``python-snappy``, lz4 from ``lz4`` (its frame format),
zstd from ``zstandard``; the ``compression`` extra installs the last three.
kafka-python 3.0 passes no level to any of them (gzip always 9, the others their
library's default), so the producer compresses its batches itself, with the level:

====== ========================= =================================================
codec  ``compression_level``     ``COMPRESSION_LEVEL_DEFAULT`` (-1000, sarama's)
====== ========================= =================================================
gzip   -2 (Huffman only), -1     zlib's default, 6 (Go's and the Java client's)
       (default), 0 (stored), 1-9
lz4    0-16 (3 and up: LZ4 HC)   0, lz4's fast mode (sarama always uses its
                                 library's default here; the Java client has levels)
zstd   -131072 to 22             3, zstd's default (sarama's ``SpeedDefault``)
snappy none: must stay default   (snappy has no levels)
====== ========================= =================================================

A level outside the codec's range, or a level with ``none``/``snappy`` (where it would
be ignored), is refused by ``Config.validate()``; a codec whose library is not
installed by :func:`check_library`, when a producer is built.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable

from ._config import COMPRESSION_LEVEL_DEFAULT, Compression
from ._errors import ConfigurationError

__all__ = ["check_library", "compressor"]

# codec -> (module the codec needs, the package that brings it)
_LIBRARIES = {
    Compression.SNAPPY: ("snappy", "python-snappy"),
    Compression.LZ4: ("lz4.frame", "lz4"),
    Compression.ZSTD: ("zstandard", "zstandard"),
}

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip stream (header and trailer), as Kafka's gzip


def check_library(codec: Compression) -> None:
    """Raise :class:`ConfigurationError` if ``codec``'s library cannot be imported."""
    needed = _LIBRARIES.get(codec)
    if needed is None:
        return
    module, package = needed
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"producer.compression (sarama: Producer.Compression) is {codec.value!r}, but "
            f"its library is not installed (import {module}: {exc}): pip install "
            f"'gochan-producer[compression]' (or pip install {package})") from None


def compressor(codec: Compression, level: int) -> Callable[[bytes], bytes] | None:
    """The function that compresses a batch's records for ``codec`` at ``level``, or
    ``None`` when kafka-python's own encoder does the same (no compression; snappy,
    which has no levels). The level is valid (``Config.validate()`` checked it)."""
    default = level == COMPRESSION_LEVEL_DEFAULT
    if codec is Compression.GZIP:
        return _gzip(zlib.Z_DEFAULT_COMPRESSION if default else level)
    if codec is Compression.LZ4:
        return _lz4(0 if default else level)
    if codec is Compression.ZSTD:
        return _zstd(3 if default else level)
    return None


def _gzip(level: int) -> Callable[[bytes], bytes]:
    strategy = zlib.Z_DEFAULT_STRATEGY
    if level == -2:  # Go's gzip.HuffmanOnly
        level, strategy = zlib.Z_DEFAULT_COMPRESSION, zlib.Z_HUFFMAN_ONLY

    def compress(data: bytes) -> bytes:
        z = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS, 8, strategy)
        return z.compress(data) + z.flush()

    return compress


def _lz4(level: int) -> Callable[[bytes], bytes]:
    frame = importlib.import_module("lz4.frame")
    lz4_compress = frame.compress

    def compress(data: bytes) -> bytes:
        # Kafka's lz4 is the frame format with independent blocks (kafka-python's too).
        out: bytes = lz4_compress(data, compression_level=level, block_linked=False)
        return out

    return compress


def _zstd(level: int) -> Callable[[bytes], bytes]:
    zstandard = importlib.import_module("zstandard")
    new_compressor = zstandard.ZstdCompressor

    def compress(data: bytes) -> bytes:
        # A compressor per batch: one object must not be used by two threads at once.
        out: bytes = new_compressor(level=level).compress(data)
        return out

    return compress
