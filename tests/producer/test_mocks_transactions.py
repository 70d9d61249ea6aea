"""producer.mocks' transactions (issue 18): sarama's mock methods and status, the real
producer's refusals, and the commit/abort expectations. No broker."""

from __future__ import annotations

import pytest

from producer import (
    BrokerError,
    Config,
    NonTransactedProducerError,
    PartitionOffsetMetadata,
    ProducerMessage,
    ProducerTxnStatusFlag,
    RequiredAcks,
    TransactionNotReadyError,
    TransitionNotAllowedError,
    mocks,
)

F = ProducerTxnStatusFlag
pytestmark = pytest.mark.timeout(30)


def txn_config(txn_id: str = "tx") -> Config:
    c = Config()
    c.producer.idempotent = True
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.net.max_open_requests = 1
    c.producer.return_successes = True
    c.producer.transaction.id = txn_id
    return c


class Consumed:
    topic, partition, offset = "in", 2, 99


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_status_follows_sarama_mock(kind: str) -> None:
    p = mocks.SyncProducer(txn_config()) if kind == "sync" else mocks.AsyncProducer(txn_config())
    try:
        assert p.is_transactional()
        assert p.txn_status() == F.READY
        p.begin_txn()
        assert p.txn_status() == F.IN_TRANSACTION
        with pytest.raises(TransitionNotAllowedError):
            p.begin_txn()
        p.add_message_to_txn(Consumed(), "g")
        p.abort_txn()
        assert p.txn_status() == F.READY and p.committed_offsets == {}
        p.begin_txn()
        p.add_offsets_to_txn({"in": [PartitionOffsetMetadata(0, 5)]}, "g")
        p.add_message_to_txn(Consumed(), "g")
        p.commit_txn()
        assert p.txn_status() == F.READY
        assert p.committed_offsets == {"g": {("in", 0): 5, ("in", 2): 100}}
        with pytest.raises(TransitionNotAllowedError):
            p.commit_txn()
        with pytest.raises(TransactionNotReadyError):
            p.add_message_to_txn(Consumed(), "g")
    finally:
        p.close()


def test_sync_message_outside_a_transaction_is_a_test_failure() -> None:
    problems: list[str] = []
    p = mocks.SyncProducer(txn_config(), reporter=problems.append)
    p.expect_send_message_and_succeed()
    with pytest.raises(TransactionNotReadyError):
        p.send_message(ProducerMessage(topic="t", value=b"v"))
    assert problems and "transaction is not started" in problems[0]
    p.begin_txn()
    assert p.send_message(ProducerMessage(topic="t", value=b"v"))[1] == 1  # not consumed
    p.commit_txn()
    p.close()


def test_async_message_outside_a_transaction_fails_and_is_reported() -> None:
    problems: list[str] = []
    p = mocks.AsyncProducer(txn_config(), reporter=problems.append)
    p.expect_input_and_succeed()
    p.input().send(ProducerMessage(topic="t", value=b"early"))
    err = p.errors().recv()
    assert isinstance(err.err, TransactionNotReadyError)
    assert problems and "transaction is not started" in problems[0]
    p.begin_txn()
    p.input().send(ProducerMessage(topic="t", value=b"in"))
    assert p.successes().recv().value == b"in"
    p.commit_txn()
    p.close()


def test_commit_expectation_fails_the_commit_then_abort_recovers() -> None:
    p = mocks.SyncProducer(txn_config())
    p.expect_commit_txn_and_fail(BrokerError("boom"))
    p.begin_txn()
    p.add_message_to_txn(Consumed(), "g")
    with pytest.raises(BrokerError, match="boom"):
        p.commit_txn()
    assert p.txn_status() == F.IN_ERROR | F.ABORTABLE_ERROR
    with pytest.raises(TransitionNotAllowedError):
        p.commit_txn()
    p.abort_txn()
    assert p.txn_status() == F.READY and p.committed_offsets == {}
    p.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_producer_without_transaction_id_refuses(kind: str) -> None:
    p = mocks.SyncProducer() if kind == "sync" else mocks.AsyncProducer()
    try:
        assert not p.is_transactional()
        for call in (p.begin_txn, p.commit_txn, p.abort_txn):
            with pytest.raises(NonTransactedProducerError):
                call()
        with pytest.raises(NonTransactedProducerError):
            p.add_message_to_txn(Consumed(), "g")
    finally:
        p.close()


def test_bad_offsets_are_refused_at_the_call() -> None:
    p = mocks.SyncProducer(txn_config())
    p.begin_txn()
    with pytest.raises(TypeError):
        p.add_offsets_to_txn({"t": [(0, 1)]}, "g")  # type: ignore[list-item]
    with pytest.raises(ValueError):
        p.add_offsets_to_txn({"t": [PartitionOffsetMetadata(0, -1)]}, "g")
    with pytest.raises(TypeError):
        p.add_offsets_to_txn({"t": [PartitionOffsetMetadata(0, 1)]}, "")
    with pytest.raises(TypeError):
        p.add_message_to_txn(object(), "g")
    p.abort_txn()
    p.close()
