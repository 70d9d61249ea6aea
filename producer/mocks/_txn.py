"""The mocks' transactions: sarama's mock methods (``BeginTxn``, ``CommitTxn``,
``AbortTxn``, ``TxnStatus``, ``IsTransactional``, ``AddOffsetsToTxn``,
``AddMessageToTxn``) with the real producer's refusals, and expectations for how a
commit or abort ends."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .._aio import off_loop
from .._config import Config
from .._errors import (
    NonTransactedProducerError,
    TransactionNotReadyError,
    TransitionNotAllowedError,
)
from .._txn import (
    ConsumerGroupMetadata,
    PartitionOffsetMetadata,
    ProducerTxnStatusFlag,
    check_group_metadata,
    check_offsets,
    group_id_only,
    message_offsets,
)

__all__ = ["MockTransactions"]

F = ProducerTxnStatusFlag


class MockTransactions:
    """Mixin of both mocks. As sarama's mock: transactional when
    ``producer.transaction.id`` is set, ``READY`` at first, ``begin_txn()`` ->
    ``IN_TRANSACTION``, ``commit_txn()``/``abort_txn()`` -> ``READY``, and a message
    sent outside a transaction is a test failure that fails with
    :class:`~producer.TransactionNotReadyError`. As the real producer (sarama's mock
    accepts anything): the calls on a producer without a transaction id raise
    :class:`~producer.NonTransactedProducerError`, a call the status does not allow
    raises :class:`~producer.TransitionNotAllowedError` or
    :class:`~producer.TransactionNotReadyError`.

    ``committed_offsets`` holds what committed transactions published:
    ``{group_id: {(topic, partition): next_offset}}``.
    """

    def _init_txn(self, config: Config | None) -> None:
        tid = config.producer.transaction.id if isinstance(config, Config) else ""
        self._txn_id = tid if isinstance(tid, str) else ""
        self._txn_lock = threading.Lock()
        self._txn_status = F.READY
        self._txn_offsets: dict[str, dict[tuple[str, int], int]] = {}
        self._txn_outcomes: deque[tuple[str, BaseException]] = deque()
        self.committed_offsets: dict[str, dict[tuple[str, int], int]] = {}

    def _txn_refusal(self) -> str | None:
        """Why a message may not be sent now (``None``: it may)."""
        if self._txn_id and not self._txn_status & F.IN_TRANSACTION:
            return ("attempt to send message when transaction is not started or is in "
                    "ending state")
        return None

    def _refuse_outside(self) -> TransactionNotReadyError:
        return TransactionNotReadyError(
            "transaction manager: transaction is not ready: the message was sent while no "
            "transaction was open (begin_txn() first)")

    def _txn_check(self) -> None:
        if not self._txn_id:
            raise NonTransactedProducerError()

    def is_transactional(self) -> bool:
        """sarama's ``IsTransactional``: ``producer.transaction.id`` is set."""
        return bool(self._txn_id)

    def txn_status(self) -> ProducerTxnStatusFlag:
        """sarama's ``TxnStatus``."""
        with self._txn_lock:
            return self._txn_status

    def begin_txn(self) -> None:
        """sarama's ``BeginTxn``: ``READY`` -> ``IN_TRANSACTION``."""
        self._txn_check()
        with self._txn_lock:
            if self._txn_status != F.READY:
                raise TransitionNotAllowedError(
                    f"transaction manager: invalid transition attempted: begin_txn() in "
                    f"status {self._txn_status!r} (it needs READY)")
            self._txn_status = F.IN_TRANSACTION
            self._txn_offsets = {}

    def commit_txn(self) -> None:
        """sarama's ``CommitTxn``: ``READY`` again and the offsets published, or the
        error of :meth:`expect_commit_txn_and_fail` (then ``IN_ERROR|ABORTABLE_ERROR``)."""
        self._end(commit=True)

    def abort_txn(self) -> None:
        """sarama's ``AbortTxn``: ``READY`` again, the offsets dropped."""
        self._end(commit=False)

    def _wait_for_sent(self) -> None:
        """Until every message sent before has been handled (the AsyncProducer's
        goroutine may still hold some); the SyncProducer handles them in the call."""

    def _end(self, commit: bool) -> None:
        self._txn_check()
        with self._txn_lock:
            open_txn = bool(self._txn_status & (F.IN_TRANSACTION | F.ABORTABLE_ERROR))
        if open_txn:  # as the real producer: the messages sent before belong to it
            self._wait_for_sent()
        with self._txn_lock:
            status = self._txn_status
            allowed = F.IN_TRANSACTION | (0 if commit else F.ABORTABLE_ERROR)
            if not status & allowed:
                if status & F.IN_ERROR:
                    raise TransitionNotAllowedError(
                        f"transaction manager: {'commit' if commit else 'abort'}_txn() in "
                        f"status {status!r}")
                raise TransitionNotAllowedError(
                    f"transaction manager: invalid transition attempted: "
                    f"{'commit' if commit else 'abort'}_txn() in status {status!r} (no "
                    "transaction is open)")
            kind = "commit" if commit else "abort"
            if self._txn_outcomes and self._txn_outcomes[0][0] == kind:
                _, err = self._txn_outcomes.popleft()
                self._txn_status = F.IN_ERROR | F.ABORTABLE_ERROR
                raise err
            if commit:
                for group, offsets in self._txn_offsets.items():
                    self.committed_offsets.setdefault(group, {}).update(offsets)
            self._txn_offsets = {}
            self._txn_status = F.READY

    async def commit_txn_async(self) -> None:
        """``commit_txn()`` off the event loop, as the real producers' is."""
        await off_loop(self.commit_txn)

    async def abort_txn_async(self) -> None:
        """``abort_txn()`` off the event loop, as the real producers' is."""
        await off_loop(self.abort_txn)

    def add_offsets_to_txn(self, offsets: dict[str, list[PartitionOffsetMetadata]],
                           group_id: str) -> None:
        """sarama's ``AddOffsetsToTxn``: kept for the commit (see ``committed_offsets``)."""
        self._add_offsets(offsets, group_id_only(group_id))

    def add_offsets_to_txn_with_group_metadata(
            self, offsets: dict[str, list[PartitionOffsetMetadata]],
            group_metadata: ConsumerGroupMetadata | Any) -> None:
        """sarama's ``AddOffsetsToTxnWithGroupMetadata`` (the mock checks the metadata
        and records the offsets under its ``group_id``; it fences nothing)."""
        self._add_offsets(offsets, group_metadata)

    def add_message_to_txn_with_group_metadata(
            self, msg: Any, group_metadata: ConsumerGroupMetadata | Any,
            metadata: str | None = None) -> None:
        """sarama's ``AddMessageToTxnWithGroupMetadata``: the consumed offset + 1."""
        self._add_offsets(message_offsets(msg, metadata), group_metadata)

    def _add_offsets(self, offsets: object, group: object) -> None:
        self._txn_check()
        checked = check_offsets(offsets)
        group_id = check_group_metadata(group).group_id
        with self._txn_lock:
            if not self._txn_status & F.IN_TRANSACTION:
                raise TransactionNotReadyError(
                    f"transaction manager: transaction is not ready (status "
                    f"{self._txn_status!r})")
            group = self._txn_offsets.setdefault(group_id, {})
            for tp, (offset, _meta) in checked.items():
                group[tp] = offset

    def add_message_to_txn(self, msg: Any, group_id: str, metadata: str | None = None,
                           ) -> None:
        """sarama's ``AddMessageToTxn``: the consumed message's offset + 1."""
        self._add_offsets(message_offsets(msg, metadata), group_id_only(group_id))

    def expect_commit_txn_and_fail(self, err: BaseException) -> Any:
        """The next ``commit_txn()`` raises ``err`` and leaves the status
        ``IN_ERROR|ABORTABLE_ERROR`` (as a failed message makes the real one); returns
        the mock."""
        return self._expect_txn("commit", err)

    def expect_abort_txn_and_fail(self, err: BaseException) -> Any:
        """The next ``abort_txn()`` raises ``err``; returns the mock."""
        return self._expect_txn("abort", err)

    def _txn_leftover_problem(self) -> str | None:
        """Commit/abort expectations never used, reported by ``close()`` as the message
        expectations left are."""
        with self._txn_lock:
            kinds = [kind for kind, _ in self._txn_outcomes]
        if not kinds:
            return None
        verb = "is" if len(kinds) == 1 else "are"
        return (f"Expected to exhaust all transaction expectations, but {len(kinds)} {verb} "
                f"left: {', '.join(f'{kind}_txn() to fail' for kind in kinds)}.")

    def _expect_txn(self, kind: str, err: BaseException) -> Any:
        if not isinstance(err, BaseException):
            raise TypeError(f"err must be an exception, not {type(err).__name__}")
        with self._txn_lock:
            self._txn_outcomes.append((kind, err))
        return self
