"""sarama's transactional producer: ``ProducerTxnStatusFlag``, offsets for a transaction,
and the producer's side of ``begin_txn``/``commit_txn``/``abort_txn``.

kafka-python's transaction manager speaks the protocol (InitProducerId, AddPartitionsToTxn,
AddOffsetsToTxn, TxnOffsetCommit, EndTxn, fencing and epoch bumps); :class:`Transactions`
adds sarama's rules on top:

- ``commit_txn()``/``abort_txn()`` push an end marker through ``input()`` and wait until
  every message sent before it has its result (an implicit flush: keep reading
  ``successes()``/``errors()``), then publish the offsets added with
  ``add_offsets_to_txn`` (commit only) and end the transaction.
- A message that fails inside the transaction (whatever the error) makes it abortable:
  ``commit_txn()`` raises, ``abort_txn()`` is the way out. Fencing and authorisation
  errors are fatal: close the producer.
- A message sent while no transaction is open fails with
  :class:`TransactionNotReadyError`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import TransactionNotReadyError, TransitionNotAllowedError

__all__ = ["ConsumerGroupMetadata", "PartitionOffsetMetadata", "ProducerTxnStatusFlag",
           "Transactions"]


class ProducerTxnStatusFlag(enum.IntFlag):
    """sarama's ``ProducerTxnStatusFlag``: the transaction status as bit flags, with
    sarama's values (``IN_ERROR`` comes with ``ABORTABLE_ERROR`` or ``FATAL_ERROR``,
    ``END_TRANSACTION`` with ``COMMITTING_TRANSACTION`` or ``ABORTING_TRANSACTION``)."""

    UNINITIALIZED = 1 << 0
    INITIALIZING = 1 << 1
    READY = 1 << 2
    IN_TRANSACTION = 1 << 3
    END_TRANSACTION = 1 << 4
    IN_ERROR = 1 << 5
    COMMITTING_TRANSACTION = 1 << 6
    ABORTING_TRANSACTION = 1 << 7
    ABORTABLE_ERROR = 1 << 8
    FATAL_ERROR = 1 << 9


F = ProducerTxnStatusFlag

# kafka-python's TransactionState name -> sarama's status.
_STATUS = {
    "UNINITIALIZED": F.UNINITIALIZED,
    "INITIALIZING": F.INITIALIZING,
    "READY": F.READY,
    "IN_TRANSACTION": F.IN_TRANSACTION,
    "COMMITTING_TRANSACTION": F.END_TRANSACTION | F.COMMITTING_TRANSACTION,
    "ABORTING_TRANSACTION": F.END_TRANSACTION | F.ABORTING_TRANSACTION,
    "ABORTABLE_ERROR": F.IN_ERROR | F.ABORTABLE_ERROR,
    "FATAL_ERROR": F.IN_ERROR | F.FATAL_ERROR,
    "BUMPING_PRODUCER_EPOCH": F.INITIALIZING,  # sarama's epoch bump re-initialises too
}


@dataclass(frozen=True)
class PartitionOffsetMetadata:
    """sarama's ``PartitionOffsetMetadata``: the next offset to consume in a partition
    (committed with the transaction), and optional metadata."""

    partition: int
    offset: int
    metadata: str | None = None


@dataclass(frozen=True)
class ConsumerGroupMetadata:
    """sarama's ``ConsumerGroupMetadata`` (KIP-447): the consumer group member on whose
    behalf offsets are committed, so the broker refuses a commit from a member that a
    rebalance replaced. ``ConsumerGroupMetadata(group_id)`` is sarama's
    ``NewConsumerGroupMetadata``: no member identity, no fencing (what
    ``add_offsets_to_txn(offsets, group_id)`` sends)."""

    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


def check_group_metadata(meta: object) -> ConsumerGroupMetadata:
    """A group id (str) or anything with ``group_id``, ``generation_id``,
    ``member_id`` and ``group_instance_id`` (ours, or kafka-python's
    ``KafkaConsumer.group_metadata()``) as :class:`ConsumerGroupMetadata`."""
    if isinstance(meta, str):
        meta = ConsumerGroupMetadata(meta)
    try:
        group_id = meta.group_id  # type: ignore[attr-defined]
        generation = meta.generation_id  # type: ignore[attr-defined]
        member = meta.member_id  # type: ignore[attr-defined]
        instance = meta.group_instance_id  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError("group metadata must be a ConsumerGroupMetadata (or kafka-python's "
                        f"KafkaConsumer.group_metadata()), not {type(meta).__name__}") from None
    if not isinstance(group_id, str) or not group_id:
        raise TypeError(f"group_id must be a non-empty str, not {group_id!r}")
    if type(generation) is not int or not isinstance(member, str) or not (
            instance is None or isinstance(instance, str)):
        raise TypeError(f"group metadata has wrong types: {meta!r}")
    if generation > 0 and not member:
        raise ValueError(f"group metadata: generation {generation} needs a member_id")
    return ConsumerGroupMetadata(group_id, generation, member, instance)


def group_id_only(group_id: object) -> str:
    """sarama's ``groupId string`` argument: a non-empty str."""
    if not isinstance(group_id, str) or not group_id:
        raise TypeError(f"group_id must be a non-empty str, not {group_id!r} (for group "
                        "metadata use the ..._with_group_metadata method)")
    return group_id


def check_offsets(offsets: object) -> dict[tuple[str, int], tuple[int, str | None]]:
    """``{topic: [PartitionOffsetMetadata, ...]}`` as ``{(topic, partition): (offset,
    metadata)}``; a wrong shape raises ``TypeError``/``ValueError`` at the call."""
    if not isinstance(offsets, Mapping):
        raise TypeError("offsets must be a dict {topic: [PartitionOffsetMetadata, ...]}, "
                        f"not {type(offsets).__name__}")
    out: dict[tuple[str, int], tuple[int, str | None]] = {}
    for topic, entries in offsets.items():
        if not isinstance(topic, str) or not topic:
            raise TypeError(f"offsets: topic must be a non-empty str, not {topic!r}")
        if not isinstance(entries, Iterable) or isinstance(entries, str | bytes):
            raise TypeError(f"offsets[{topic!r}] must be a list of PartitionOffsetMetadata")
        for entry in entries:
            if not isinstance(entry, PartitionOffsetMetadata):
                raise TypeError(f"offsets[{topic!r}]: {entry!r} is not a "
                                "PartitionOffsetMetadata")
            for name in ("partition", "offset"):
                value = getattr(entry, name)
                if type(value) is not int or value < 0:
                    raise ValueError(f"offsets[{topic!r}]: {name} must be an int >= 0, "
                                     f"not {value!r}")
            if entry.metadata is not None and not isinstance(entry.metadata, str):
                raise TypeError(f"offsets[{topic!r}]: metadata must be a str or None")
            out[(topic, entry.partition)] = (entry.offset, entry.metadata)
    return out


def message_offsets(msg: object, metadata: str | None) -> dict[str, list[PartitionOffsetMetadata]]:
    """sarama's ``AddMessageToTxn`` argument: the consumed message's offset + 1 (the next
    one to read). ``msg`` is anything with ``topic``, ``partition`` and ``offset`` (a
    kafka-python ``ConsumerRecord`` is one)."""
    try:
        topic, partition, offset = msg.topic, msg.partition, msg.offset  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError("msg must have topic, partition and offset (a consumed message, "
                        f"e.g. kafka-python's ConsumerRecord), not {type(msg).__name__}"
                        ) from None
    if type(offset) is not int or offset < 0:
        raise ValueError(f"msg.offset must be an int >= 0, not {offset!r}")
    return {topic: [PartitionOffsetMetadata(partition, offset + 1, metadata)]}


class Transactions:
    """One transactional producer's transactions (see the module docstring).

    ``accepting`` is read by the dispatcher for every message (a plain attribute):
    set by ``begin()``, cleared by the dispatcher when an end marker reaches it and by
    an error. ``client`` is :class:`producer._kafka.TxnClient`.
    """

    def __init__(self, client: Any, end_marker: Callable[[bool], None]) -> None:
        self._client = client
        self._end_marker = end_marker  # pushes a marker through input() and waits for the flush
        self._lock = threading.Lock()  # sarama's txLock: one transaction call at a time
        self._ending: bool | None = None  # commit (True) / abort (False) once its marker passed
        self._offsets: dict[str, dict[tuple[str, int], tuple[int, str | None]]] = {}
        self._groups: dict[str, ConsumerGroupMetadata] = {}  # the latest metadata per group
        # The first failure of a message of the open transaction (None: none). It keeps
        # the transaction abortable even where kafka-python's state does not: an epoch
        # bump (KIP-360) after a sequence error leaves it READY, the broker having
        # aborted the transaction already.
        self._poison: BaseException | None = None
        self.accepting = False

    def status(self) -> ProducerTxnStatusFlag:
        status = _STATUS[self._client.state()]
        if self._poison is not None and not status & F.IN_ERROR:
            return F.IN_ERROR | F.ABORTABLE_ERROR
        ending = self._ending
        if ending is not None and status & F.IN_TRANSACTION:
            return F.END_TRANSACTION | (
                F.COMMITTING_TRANSACTION if ending else F.ABORTING_TRANSACTION)
        return status

    def begin(self) -> None:
        with self._lock:
            status = self.status()
            if status != F.READY:
                raise TransitionNotAllowedError(
                    f"transaction manager: invalid transition attempted: begin_txn() in "
                    f"status {status!r} (it needs READY)")
            self._client.begin()
            self._offsets.clear()
            self._groups.clear()
            self.accepting = True

    def add_offsets(self, offsets: object, group: object) -> None:
        """sarama's ``AddOffsetsToTxn(WithGroupMetadata)``: remembered, published by
        ``commit()``. ``group``: a group id or group metadata."""
        checked = check_offsets(offsets)
        meta = check_group_metadata(group)
        with self._lock:
            status = self.status()
            if not status & F.IN_TRANSACTION:
                raise TransactionNotReadyError(
                    f"transaction manager: transaction is not ready (status {status!r})")
            self._offsets.setdefault(meta.group_id, {}).update(checked)
            self._groups[meta.group_id] = meta

    def marker_reached(self, commit: bool) -> None:
        """The dispatcher took the end marker: later messages fail as outside."""
        self.accepting = False
        self._ending = commit

    def end(self, commit: bool) -> None:
        """sarama's ``CommitTxn``/``AbortTxn``."""
        with self._lock:
            self._end_marker(commit)  # every message sent before has its result now
            status = _STATUS[self._client.state()]
            poison = self._poison
            if status & F.FATAL_ERROR or (commit and status & F.IN_ERROR):
                self._ending = None
                raise self._client.last_error()
            if commit and poison is not None:
                self._ending = None
                raise poison
            if poison is not None and status & (F.READY | F.INITIALIZING):
                # kafka-python bumped the epoch, which aborted the transaction on the
                # broker: nothing is left to abort once the new epoch is in place.
                self._client.wait_ready()
                self._ending = self._poison = None
                self._offsets.clear()
                return
            try:
                if commit and status & F.IN_TRANSACTION:
                    for group_id, offsets in list(self._offsets.items()):
                        self._client.send_offsets(offsets, self._groups[group_id])
                        del self._offsets[group_id]
                if status & (F.IN_TRANSACTION | F.ABORTABLE_ERROR | F.END_TRANSACTION):
                    self._client.end(commit)
                else:
                    raise TransitionNotAllowedError(
                        f"transaction manager: invalid transition attempted: "
                        f"{'commit' if commit else 'abort'}_txn() in status {self.status()!r} "
                        "(no transaction is open)")
            finally:
                self._ending = None
            self._offsets.clear()
            self._poison = None

    def failed(self, exc: BaseException) -> BaseException:
        """A message sent inside the transaction failed (any thread): returns the
        error to report for it (see ``TxnClient.fail``)."""
        self.accepting = False
        result: BaseException = self._client.fail(exc)
        if self._poison is None:
            self._poison = result
        return result
