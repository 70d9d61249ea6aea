"""``ProducerMessage``: what goes into ``input()`` and comes back with its results."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._sync_producer import _Replies

__all__ = ["IN_FLIGHT", "Bytesish", "ProducerMessage", "claim", "claim_one", "encode_bytes",
           "release"]

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

    One object is one send: from the moment a producer accepts it until its result
    is delivered it is *in flight*, and sending it again meanwhile is refused
    (``ValueError`` from ``send_message``/``send_messages``, a ``ProducerError`` on
    ``errors()`` from ``input()``). Once its result is delivered it may be sent again.
    """

    __slots__ = ("_owner", "_reply", "headers", "key", "metadata", "offset", "partition",
                 "timestamp", "topic", "value")

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
        # The SyncProducer's replies (sarama's "expectation"); None otherwise.
        self._reply: _Replies | None = None
        # The producer holding it in flight (see claim()); None while it is not.
        self._owner: object = None

    def __repr__(self) -> str:
        return (
            f"ProducerMessage(topic={self.topic!r}, key={self.key!r}, "
            f"value={_short(self.value)}, partition={self.partition}, offset={self.offset}, "
            f"metadata={self.metadata!r})"
        )


# Why a message object is refused while a producer holds it (the cause of the
# ProducerError for input(), the ValueError's text for send_message/send_messages).
IN_FLIGHT = ("this ProducerMessage object is already in flight (accepted by a producer, its "
             "result not yet delivered); build a new ProducerMessage for each send")

# Makes check-and-mark atomic when threads or producers race for one object. Held
# for a few attribute accesses only.
_claim_lock = threading.Lock()


def claim(msgs: Sequence[ProducerMessage], owner: object, call: str) -> None:
    """Mark every message in flight for ``owner``, or none of them.

    Raises:
        ValueError: an object appears twice in ``msgs`` or is already in flight
            (``call`` names the caller in the message).
    """
    with _claim_lock:
        if len(msgs) > 1:
            first: dict[int, int] = {}
            for i, msg in enumerate(msgs):
                j = first.setdefault(id(msg), i)
                if j != i:
                    raise ValueError(
                        f"{call}: the same ProducerMessage object is at positions {j} and {i} "
                        "of the batch; build a new ProducerMessage for each send")
        for msg in msgs:
            if msg._owner is not None:
                raise ValueError(f"{call}: {IN_FLIGHT}")
        for msg in msgs:
            msg._owner = owner


def claim_one(msg: ProducerMessage, owner: object) -> bool:
    """Mark ``msg`` in flight for ``owner``; ``False`` if someone else holds it."""
    with _claim_lock:
        if msg._owner is None:
            msg._owner = owner
            return True
        return False


def release(msg: ProducerMessage, owner: object) -> None:
    """End ``owner``'s hold on ``msg`` (nothing if another owner holds it)."""
    if msg._owner is owner:
        msg._owner = None


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
