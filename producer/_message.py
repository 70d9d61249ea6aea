"""``ProducerMessage``: what goes into ``input()`` and comes back with its results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gochan import Chan

__all__ = ["Bytesish", "ProducerMessage", "encode_bytes"]

Bytesish = bytes | bytearray | memoryview | str


class ProducerMessage:
    """A message to produce, sarama's ``ProducerMessage``.

    ``key`` and ``value`` are ``bytes``, ``bytearray``, ``memoryview`` or ``str``
    (sent as UTF-8) or ``None``. ``headers`` is a list of ``(key, value)`` pairs (a
    ``dict`` is accepted too). ``partition`` is only used by the ``manual``
    partitioner. ``metadata`` is yours: passed through untouched. ``timestamp`` is
    seconds since the epoch (``time.time()``); ``None`` means "now" in the batch.

    After delivery the producer fills in ``partition``, ``offset`` and, when the
    broker assigns it (LogAppendTime), ``timestamp``. The same object comes back
    on ``successes()`` or inside a ``ProducerError`` on ``errors()``.
    """

    __slots__ = ("_reply", "headers", "key", "metadata", "offset", "partition", "timestamp",
                 "topic", "value")

    def __init__(
        self,
        topic: str,
        value: Bytesish | None = None,
        key: Bytesish | None = None,
        headers: Any = None,
        partition: int = -1,
        metadata: Any = None,
        timestamp: float | None = None,
    ) -> None:
        self.topic = topic
        self.value = value
        self.key = key
        self.headers = headers
        self.partition = partition
        self.metadata = metadata
        self.timestamp = timestamp
        self.offset = -1
        # The SyncProducer's reply channel (sarama's "expectation"); None otherwise.
        self._reply: Chan[Any] | None = None

    def __repr__(self) -> str:
        return (
            f"ProducerMessage(topic={self.topic!r}, key={self.key!r}, "
            f"value={_short(self.value)}, partition={self.partition}, offset={self.offset}, "
            f"metadata={self.metadata!r})"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def encode_bytes(what: str, data: object) -> bytes | bytearray | memoryview | None:
    """Key or value as bytes for the wire; ``str`` becomes UTF-8.

    Raises:
        TypeError: any other type, naming the field.
    """
    if data is None or type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        return data
    raise TypeError(
        f"message {what} must be bytes, bytearray, memoryview, str or None, "
        f"not {type(data).__name__}"
    )
