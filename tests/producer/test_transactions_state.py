"""producer._txn.Transactions (issue 18) over a fake of TxnClient: the status overlay and
commit/abort decisions that kafka-python's state alone does not give. No broker; the
real client is exercised in functional/test_transactions.py."""

from __future__ import annotations

import pytest

from producer import (
    BrokerError,
    ProducerTxnStatusFlag,
    TransactionNotReadyError,
    TransitionNotAllowedError,
)
from producer._txn import ConsumerGroupMetadata, PartitionOffsetMetadata, Transactions

F = ProducerTxnStatusFlag


class FakeTxnClient:
    """kafka-python's side as TxnClient presents it: a state name and the calls."""

    def __init__(self) -> None:
        self.state_name = "READY"
        self.calls: list[str] = []
        self.error: BaseException | None = None

    def state(self) -> str:
        return self.state_name

    def last_error(self) -> BaseException:
        assert self.error is not None
        return self.error

    def begin(self) -> None:
        self.calls.append("begin")
        self.state_name = "IN_TRANSACTION"

    def send_offsets(self, offsets: object, group: ConsumerGroupMetadata) -> None:
        self.calls.append(f"offsets {group.group_id} {sorted(offsets)}")  # type: ignore[call-overload]

    def end(self, commit: bool) -> None:
        self.calls.append("commit" if commit else "abort")
        self.state_name = "READY"

    def fail(self, exc: BaseException) -> BaseException:
        return exc  # e.g. a sequence error: kafka-python bumps the epoch instead

    def wait_ready(self) -> None:
        self.calls.append("wait_ready")


def make() -> tuple[Transactions, FakeTxnClient, list[bool]]:
    client = FakeTxnClient()
    markers: list[bool] = []
    txn = Transactions(client, markers.append)
    return txn, client, markers


def test_commit_pushes_the_marker_then_publishes_offsets_then_ends() -> None:
    txn, client, markers = make()
    txn.begin()
    assert txn.accepting and txn.status() == F.IN_TRANSACTION
    txn.add_offsets({"in": [PartitionOffsetMetadata(1, 5)]}, "g")
    txn.marker_reached(True)
    assert not txn.accepting
    assert txn.status() == F.END_TRANSACTION | F.COMMITTING_TRANSACTION
    txn.end(True)
    assert markers == [True]
    assert client.calls == ["begin", "offsets g [('in', 1)]", "commit"]
    assert txn.status() == F.READY


def test_a_failure_the_client_does_not_record_still_makes_the_transaction_abortable() -> None:
    """kafka-python bumps the epoch after a sequence error (its state goes through
    BUMPING to READY, the broker aborting the transaction): the transaction is still
    abortable for the user, commit raises, abort completes without an EndTxn."""
    txn, client, _ = make()
    txn.begin()
    err = BrokerError("OutOfOrderSequenceNumberError")
    assert txn.failed(err) is err
    client.state_name = "BUMPING_PRODUCER_EPOCH"
    assert txn.status() == F.IN_ERROR | F.ABORTABLE_ERROR
    with pytest.raises(TransitionNotAllowedError):
        txn.begin()
    with pytest.raises(TransactionNotReadyError):
        txn.add_offsets({"in": [PartitionOffsetMetadata(0, 1)]}, "g")
    with pytest.raises(BrokerError, match="OutOfOrder"):
        txn.end(True)
    client.state_name = "READY"  # the bump completed
    assert txn.status() == F.IN_ERROR | F.ABORTABLE_ERROR
    txn.end(False)
    assert client.calls == ["begin", "wait_ready"]
    assert txn.status() == F.READY
    txn.begin()
    txn.end(True)
    assert client.calls[-2:] == ["begin", "commit"]


def test_ending_without_a_transaction_is_not_allowed() -> None:
    txn, client, markers = make()
    for commit in (True, False):
        with pytest.raises(TransitionNotAllowedError, match="no transaction is open"):
            txn.end(commit)
    assert markers == [True, False]  # the flush ran, as sarama's does
    assert client.calls == []
    assert txn.status() == F.READY


def test_fatal_errors_refuse_commit_and_abort() -> None:
    txn, client, _ = make()
    txn.begin()
    client.state_name = "FATAL_ERROR"
    client.error = BrokerError("ProducerFencedError: fenced")
    assert txn.status() == F.IN_ERROR | F.FATAL_ERROR
    for commit in (True, False):
        with pytest.raises(BrokerError, match="fenced"):
            txn.end(commit)
