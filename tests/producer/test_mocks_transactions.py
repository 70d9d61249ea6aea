"""producer.mocks' transactions (issue 18): sarama's mock methods and status, the real
producer's refusals, and the commit/abort expectations. No broker."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

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
def test_unused_transaction_expectations_are_reported_at_close(kind: str) -> None:
    p = mocks.SyncProducer(txn_config()) if kind == "sync" else mocks.AsyncProducer(txn_config())
    p.expect_commit_txn_and_fail(BrokerError("boom"))
    p.expect_abort_txn_and_fail(BrokerError("bang"))
    with pytest.raises(AssertionError, match=(
            r"Expected to exhaust all transaction expectations, but 2 are left: "
            r"commit_txn\(\) to fail, abort_txn\(\) to fail\.")):
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


class MockTxnMachine(RuleBasedStateMachine):
    """The mock SyncProducer's transactions against a model of sarama's status table
    (READY -> IN_TRANSACTION -> READY; a failed commit -> IN_ERROR|ABORTABLE_ERROR, left
    by abort only) and of the offsets a commit publishes."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: list[str] = []
        self.p = mocks.SyncProducer(txn_config(), reporter=self.reported.append)
        self.status = F.READY
        self.pending: dict[tuple[str, int], int] = {}
        self.published: dict[tuple[str, int], int] = {}
        self.fail_next_commit = False

    @rule()
    def begin(self) -> None:
        if self.status == F.READY:
            self.p.begin_txn()
            self.status = F.IN_TRANSACTION
            self.pending = {}
        else:
            with pytest.raises(TransitionNotAllowedError):
                self.p.begin_txn()

    @rule(partition=st.integers(0, 3), offset=st.integers(0, 1000))
    def add_offset(self, partition: int, offset: int) -> None:
        if self.status == F.IN_TRANSACTION:
            self.p.add_offsets_to_txn({"in": [PartitionOffsetMetadata(partition, offset)]}, "g")
            self.pending[("in", partition)] = offset
        else:
            with pytest.raises(TransactionNotReadyError):
                self.p.add_offsets_to_txn({"in": [PartitionOffsetMetadata(partition, offset)]},
                                          "g")

    @rule()
    def send(self) -> None:
        if self.status == F.IN_TRANSACTION:
            self.p.expect_send_message_and_succeed()
            self.p.send_message(ProducerMessage(topic="out", value=b"v"))
        else:
            with pytest.raises(TransactionNotReadyError):
                self.p.send_message(ProducerMessage(topic="out", value=b"v"))

    @rule()
    def poison_next_commit(self) -> None:
        if not self.fail_next_commit:
            self.p.expect_commit_txn_and_fail(BrokerError("boom"))
            self.fail_next_commit = True

    @rule()
    def commit(self) -> None:
        if self.status != F.IN_TRANSACTION:
            with pytest.raises(TransitionNotAllowedError):
                self.p.commit_txn()
        elif self.fail_next_commit:
            with pytest.raises(BrokerError):
                self.p.commit_txn()
            self.fail_next_commit = False
            self.status = F.IN_ERROR | F.ABORTABLE_ERROR
        else:
            self.p.commit_txn()
            self.published.update(self.pending)
            self.status = F.READY

    @rule()
    def abort(self) -> None:
        if self.status & (F.IN_TRANSACTION | F.ABORTABLE_ERROR):
            self.p.abort_txn()
            self.status = F.READY
        else:
            with pytest.raises(TransitionNotAllowedError):
                self.p.abort_txn()

    @invariant()
    def agrees(self) -> None:
        assert self.p.txn_status() == self.status
        assert self.p.committed_offsets.get("g", {}) == self.published

    def teardown(self) -> None:
        self.reported.clear()
        self.p.close()
        # an unused commit expectation is reported at close
        assert [r for r in self.reported if "transaction expectations" in r] == (
            ["Expected to exhaust all transaction expectations, but 1 is left: "
             "commit_txn() to fail."] if self.fail_next_commit else [])


TestMockTxnMachine = MockTxnMachine.TestCase
TestMockTxnMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_group_metadata_variants() -> None:
    from kafka.structs import ConsumerGroupMetadata as KafkaPythonGroupMetadata

    from producer import ConsumerGroupMetadata

    p = mocks.AsyncProducer(txn_config())
    try:
        p.begin_txn()
        p.add_offsets_to_txn_with_group_metadata({"in": [PartitionOffsetMetadata(0, 3)]},
                                                 ConsumerGroupMetadata("g", 4, "member-1"))
        p.add_message_to_txn_with_group_metadata(
            Consumed(), KafkaPythonGroupMetadata("h", 2, "member-2"))  # a consumer's snapshot
        with pytest.raises(ValueError, match="member_id"):
            p.add_offsets_to_txn_with_group_metadata({"in": []}, ConsumerGroupMetadata("g", 5))
        with pytest.raises(TypeError):
            p.add_offsets_to_txn_with_group_metadata({"in": []}, object())
        with pytest.raises(TypeError, match="with_group_metadata"):
            p.add_offsets_to_txn({"in": []}, ConsumerGroupMetadata("g"))  # type: ignore[arg-type]
        p.commit_txn()
        assert p.committed_offsets == {"g": {("in", 0): 3}, "h": {("in", 2): 100}}
    finally:
        p.close()


def test_the_transaction_ends_are_awaitable() -> None:
    """``commit_txn_async``/``abort_txn_async`` as on the real producers, failures
    included."""
    import asyncio

    async def main() -> None:
        async with mocks.AsyncProducer(txn_config()) as p:
            p.expect_input_and_succeed().expect_abort_txn_and_fail(BrokerError("bang"))
            p.begin_txn()
            p.add_message_to_txn(Consumed(), "g")
            await p.input().send_async(ProducerMessage(topic="t", value=b"v"))
            await p.commit_txn_async()
            assert p.committed_offsets == {"g": {("in", 2): 100}}
            p.begin_txn()
            with pytest.raises(BrokerError, match="bang"):
                await p.abort_txn_async()
            await p.successes().recv_async()

    asyncio.run(main())


def test_the_async_mocks_commit_covers_what_was_sent_before() -> None:
    """As the real producer's commit, the mock's waits until its goroutine has handled
    every message sent before it (they are not refused as sent outside a transaction)."""
    p = mocks.AsyncProducer(txn_config())
    for _ in range(50):
        p.expect_input_and_succeed()
    p.begin_txn()
    for i in range(50):
        p.input().send(ProducerMessage(topic="t", value=b"%d" % i))
    p.commit_txn()
    p.close()  # raises the problems found, if any
