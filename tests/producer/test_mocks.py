"""producer.mocks (spec §6): sarama's mock producers, tested without a broker.

Every test closes its AsyncProducer mocks: the suite's goroutine leak check
fails a test whose mock goroutine is still running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gochan import Chan, ClosedChannelError, go, goroutines
from producer import (
    PARTITIONERS,
    BrokerError,
    ClosedProducerError,
    Config,
    InvalidPartitionError,
    InvalidTopicError,
    ProducerError,
    ProducerErrors,
    ProducerMessage,
    mocks,
)

pytestmark = pytest.mark.timeout(30)  # a hung mock fails fast instead of at the suite's 300 s


def config(*, successes: bool = False, errors: bool = True, cbs: int = 256,
           partitioner: Any = "hash") -> Config:
    c = Config()
    c.producer.return_successes = successes
    c.producer.return_errors = errors
    c.channel_buffer_size = cbs
    c.producer.partitioner = partitioner
    return c


def message(value: Any = b"v", key: Any = None, topic: str = "t", **kw: Any) -> ProducerMessage:
    return ProducerMessage(topic, value=value, key=key, **kw)


def mock_goroutines() -> list[Any]:
    return [g for g in goroutines() if "_handle_inputs" in g.func_name]


# -- AsyncProducer: the expectation kinds ----------------------------------------------------


def test_async_succeed_delivers_on_successes_with_partition_and_offset() -> None:
    p = mocks.AsyncProducer(config(successes=True)).expect_input_and_succeed()
    msg = message(key="k")
    p.input().send(msg)
    got = p.successes().recv(timeout=5)
    assert got is msg
    assert msg.offset == 1
    assert msg.partition == PARTITIONERS["hash"]("t").partition(msg, 32)
    p.close()


def test_async_succeed_without_return_successes_only_counts() -> None:
    p = mocks.AsyncProducer().expect_input_and_succeed().expect_input_and_succeed()
    a, b = message(), message()
    p.input().send(a)
    p.input().send(b)
    p.close()
    assert (a.offset, b.offset) == (1, 2)
    assert p.successes().recv_ok() == (None, False)  # closed and empty


def test_async_fail_delivers_producer_error() -> None:
    boom = BrokerError("NOT_ENOUGH_REPLICAS")
    p = mocks.AsyncProducer().expect_input_and_fail(boom)
    msg = message()
    p.input().send(msg)
    perr = p.errors().recv(timeout=5)
    assert isinstance(perr, ProducerError)
    assert perr.msg is msg and perr.err is boom and perr.__cause__ is boom
    assert msg.offset == -1 and 0 <= msg.partition < 32
    p.close()


def test_async_close_raises_undrained_errors_as_the_real_producer_does() -> None:
    boom = BrokerError("x")
    p = mocks.AsyncProducer().expect_input_and_fail(boom).expect_input_and_fail(boom)
    p.input().send(message())
    p.input().send(message())
    with pytest.raises(ProducerErrors, match="Failed to deliver 2 messages") as info:
        p.close()
    assert [e.err for e in info.value] == [boom, boom]


def test_async_fail_without_return_errors_is_silent() -> None:
    p = mocks.AsyncProducer(config(errors=False)).expect_input_and_fail(BrokerError("x"))
    p.input().send(message())
    p.close()
    assert p.errors().recv_ok() == (None, False)


def test_async_expectations_are_used_in_order_and_offsets_count_successes() -> None:
    boom = BrokerError("x")
    p = (mocks.AsyncProducer(config(successes=True))
         .expect_input_and_succeed()
         .expect_input_and_fail(boom)
         .expect_input_and_succeed()
         .expect_input_and_succeed())
    msgs = [message(topic=topic, key=f"k{i}") for i, topic in enumerate(["a", "b", "a", "c"])]
    for m in msgs:
        p.input().send(m)
    assert p.successes().recv(timeout=5) is msgs[0]
    assert p.errors().recv(timeout=5).msg is msgs[1]  # type: ignore[union-attr]
    assert p.successes().recv(timeout=5) is msgs[2]
    assert p.successes().recv(timeout=5) is msgs[3]
    p.close()
    # one counter per mock, across topics and partitions, failures not counted (sarama's)
    assert [m.offset for m in msgs] == [1, -1, 2, 3]


def test_async_value_checker_gets_the_encoded_value() -> None:
    seen: list[Any] = []

    def record(value: bytes | None) -> None:
        seen.append(value)

    p = mocks.AsyncProducer()
    for _ in range(4):
        p.expect_input_with_checker_and_succeed(record)
    for value in ["héllo", b"raw", bytearray(b"ba"), None]:
        p.input().send(message(value, key=b"k"))  # a record needs a key or a value
    p.close()
    assert seen == ["héllo".encode(), b"raw", b"ba", None]
    assert all(type(v) is bytes for v in seen[:3])


@pytest.mark.parametrize("verdict", [None, True], ids=["returns-None", "returns-True"])
def test_async_value_checker_passes(verdict: Any) -> None:
    p = mocks.AsyncProducer(config(successes=True))
    p.expect_input_with_checker_and_succeed(lambda value: verdict)
    p.expect_input_with_checker_and_fail(lambda value: verdict, BrokerError("planned"))
    p.input().send(message())
    p.input().send(message())
    assert p.successes().recv(timeout=5) is not None
    assert str(p.errors().recv(timeout=5).err) == "planned"  # type: ignore[union-attr]
    p.close()


def _raises(value: bytes | None) -> None:
    raise ValueError(f"unexpected value {value!r}")


FAILING_CHECKERS: list[tuple[Callable[[bytes | None], object], str]] = [
    (_raises, r"ValueError: unexpected value b'v'"),
    (lambda value: KeyError("returned"), r"KeyError: 'returned'"),
    (lambda value: False, r"AssertionError: the check function returned False"),
    (lambda value: "yes", r"TypeError: the check function returned 'yes'"),
]


@pytest.mark.parametrize(("checker", "why"), FAILING_CHECKERS,
                         ids=["raises", "returns-exception", "returns-False", "returns-str"])
def test_async_failed_value_check_fails_the_message_and_the_test(
        checker: Callable[[bytes | None], object], why: str) -> None:
    p = mocks.AsyncProducer(config(successes=True)).expect_input_with_checker_and_succeed(checker)
    msg = message()
    p.input().send(msg)
    perr = p.errors().recv(timeout=5)
    assert perr is not None and perr.msg is msg  # the checker's error, not the outcome
    with pytest.raises(AssertionError, match="Check function returned an error: " + why):
        p.close()
    assert msg.offset == -1


def test_async_message_checker_sees_the_partitioned_message() -> None:
    seen: list[tuple[str, int]] = []

    def check(msg: ProducerMessage) -> None:
        seen.append((msg.topic, msg.partition))

    p = mocks.AsyncProducer(config(partitioner="manual"))
    p.expect_input_with_message_checker_and_succeed(check)
    p.expect_input_with_message_checker_and_fail(check, BrokerError("x"))
    p.input().send(message(partition=7))
    p.input().send(message(topic="u", partition=3))
    assert p.errors().recv(timeout=5) is not None
    p.close()
    assert seen == [("t", 7), ("u", 3)]


def test_async_failed_message_check_with_fail_expectation_reports_the_check() -> None:
    wrong_topic = ValueError("wrong topic")
    p = mocks.AsyncProducer().expect_input_with_message_checker_and_fail(
        lambda msg: None if msg.topic == "orders" else wrong_topic, BrokerError("planned"))
    p.input().send(message(topic="payments"))
    assert p.errors().recv(timeout=5).err is wrong_topic  # type: ignore[union-attr]
    with pytest.raises(AssertionError, match=r"Check function returned an error: ValueError: "
                                             r"wrong topic .*topic='payments'"):
        p.close()


# -- AsyncProducer: test failures --------------------------------------------------------------


def test_async_message_without_expectation_fails_readably_and_does_not_hang() -> None:
    p = mocks.AsyncProducer()
    msg = message(b"surplus")
    p.input().send(msg)
    perr = p.errors().recv(timeout=5)  # a caller waiting for each result still gets one
    assert perr is not None and isinstance(perr.err, mocks.OutOfExpectationsError)
    with pytest.raises(AssertionError) as info:
        p.close()
    assert str(info.value) == (
        "mocks.AsyncProducer: No more expectations set on this mock producer to handle the "
        f"input message {msg!r}.")


@pytest.mark.parametrize(("left", "text"), [(1, "1 is left"), (2, "2 are left")])
def test_async_unmet_expectations_fail_at_close(left: int, text: str) -> None:
    p = mocks.AsyncProducer()
    for _ in range(left):
        p.expect_input_and_succeed()
    with pytest.raises(AssertionError, match=f"^mocks.AsyncProducer: Expected to exhaust all "
                                             f"expectations, but {text}.$"):
        p.close()


def test_async_close_lists_every_problem() -> None:
    p = mocks.AsyncProducer(config(errors=False))
    p.expect_input_with_checker_and_succeed(lambda v: v == b"good")
    p.expect_input_and_succeed().expect_input_and_succeed()
    p.input().send(message(b"bad"))
    with pytest.raises(AssertionError) as info:
        p.close()
    lines = str(info.value).splitlines()
    assert lines[0] == "mocks.AsyncProducer: 2 problems:"
    assert lines[1].startswith("  1. Check function returned an error: AssertionError")
    assert lines[2] == "  2. Expected to exhaust all expectations, but 2 are left."


def test_async_reporter_receives_each_failure_instead_of_raising() -> None:
    reported: list[str] = []
    p = mocks.AsyncProducer(config(errors=False), reporter=reported.append)
    p.expect_input_with_checker_and_succeed(lambda v: False).expect_input_and_succeed()
    p.input().send(message())
    p.close()
    assert len(reported) == 2
    assert reported[0].startswith("Check function returned an error")
    assert reported[1] == "Expected to exhaust all expectations, but 1 is left."


def test_async_reporter_that_raises_on_the_goroutine_is_reraised_by_close() -> None:
    p = mocks.AsyncProducer(reporter=pytest.fail)
    p.input().send(message())
    assert p.errors().recv(timeout=5) is not None  # the goroutine carried on
    with pytest.raises(pytest.fail.Exception, match="No more expectations"):
        p.close()
    assert not mock_goroutines()


def test_async_checker_calling_pytest_fail_is_reraised_by_close() -> None:
    def check(value: bytes | None) -> None:
        pytest.fail(f"bad value {value!r}")

    p = mocks.AsyncProducer().expect_input_with_checker_and_succeed(check)
    p.expect_input_and_succeed()
    p.input().send(message())
    perr = p.errors().recv(timeout=5)
    assert perr is not None
    with pytest.raises(pytest.fail.Exception, match="bad value b'v'") as info:
        p.close()
    # the other problems are not lost: they are the cause
    assert isinstance(info.value.__cause__, AssertionError)
    assert "but 1 is left" in str(info.value.__cause__)


@pytest.mark.parametrize(("msg", "error", "why"), [
    (message(value=42), TypeError, "message value must be bytes"),
    (message(key=4.2), TypeError, "message key must be bytes"),
    (message(topic="no spaces"), InvalidTopicError, "not a valid Kafka topic name"),
    (message(headers=[("h", 1)]), TypeError, "header value must be bytes"),
    (message(value=b"x" * 2_000_000), Exception, "larger than configured"),
], ids=["value", "key", "topic", "header", "size"])
def test_async_message_the_real_producer_rejects_fails_here_too(
        msg: ProducerMessage, error: type[BaseException], why: str) -> None:
    p = mocks.AsyncProducer(config(successes=True)).expect_input_and_succeed()
    p.input().send(msg)
    perr = p.errors().recv(timeout=5)
    assert perr is not None and perr.msg is msg
    assert isinstance(perr.err, error) and why in str(perr.err)
    with pytest.raises(AssertionError, match="rejected, as the real producer would reject it"):
        p.close()


def test_async_non_message_input_fails_like_the_real_producer() -> None:
    p = mocks.AsyncProducer().expect_input_and_succeed()
    p.input().send("not a message")  # type: ignore[arg-type]
    perr = p.errors().recv(timeout=5)
    assert perr is not None and perr.msg is None and isinstance(perr.err, TypeError)
    with pytest.raises(AssertionError, match="2 problems") as info:
        p.close()  # no expectation consumed: one is left
    assert "input() takes ProducerMessage objects, not str" in str(info.value)
    assert "but 1 is left" in str(info.value)


def test_async_invalid_config_fails_at_once_without_a_reporter() -> None:
    bad = config()
    bad.producer.retry.max = -1
    with pytest.raises(AssertionError, match=r"Invalid mock configuration provided: kafka: "
                                             r"invalid configuration \(producer\.retry\.max"):
        mocks.AsyncProducer(bad)
    assert not mock_goroutines()


def test_async_invalid_config_is_reported_and_the_mock_still_works() -> None:
    bad = config(successes=True, cbs=-5)
    reported: list[str] = []
    p = mocks.AsyncProducer(bad, reporter=reported.append).expect_input_and_succeed()
    assert p.input().cap == 256  # the unusable value replaced by the default
    p.input().send(message())
    assert p.successes().recv(timeout=5) is not None
    p.close()
    assert len(reported) == 1 and "channel_buffer_size" in reported[0]


def test_async_config_must_be_a_config() -> None:
    with pytest.raises(TypeError, match=r"must be a producer\.Config"):
        mocks.AsyncProducer({"channel_buffer_size": 1})  # type: ignore[arg-type]


# -- AsyncProducer: partitioning -----------------------------------------------------------


@pytest.mark.parametrize("name", ["hash", "reference_hash", "murmur2", "crc32", "round_robin"])
def test_partitioning_matches_the_real_partitioners(name: str) -> None:
    keys = [f"key-{i}" for i in range(40)]
    p = mocks.AsyncProducer(config(partitioner=name)).set_partitions("t", 7)
    for _ in keys:
        p.expect_input_and_succeed()
    msgs = [message(key=k) for k in keys]
    for m in msgs:
        p.input().send(m)
    p.close()
    reference = PARTITIONERS[name]("t")
    assert [m.partition for m in msgs] == [reference.partition(m, 7) for m in msgs]


def test_murmur2_partitioning_matches_the_java_client() -> None:
    # sarama's TestMurmur2Partitioner: the Java DefaultPartitioner's choices among 100.
    p = mocks.AsyncProducer(config(partitioner="murmur2")).set_default_partitions(100)
    msgs = [message(key=k) for k in ("foo", "bar", "baz", "kafka", "sarama")]
    for m in msgs:
        p.expect_input_and_succeed()
        p.input().send(m)
    p.close()
    assert [m.partition for m in msgs] == [16, 45, 80, 80, 11]


def test_partition_counts_default_to_32_and_can_be_set_per_topic() -> None:
    counts: dict[str, set[int]] = {}

    def check(msg: ProducerMessage) -> None:
        counts.setdefault(msg.topic, set()).add(msg.partition)

    p = mocks.AsyncProducer(config(partitioner="round_robin")).set_partitions("small", 3)
    for topic, n in [("default", 64), ("small", 9)]:
        for _ in range(n):
            p.expect_input_with_message_checker_and_succeed(check)
            p.input().send(message(topic=topic))
    p.close()
    assert counts == {"default": set(range(32)), "small": {0, 1, 2}}


def test_custom_partitioner_constructor_gets_the_topic() -> None:
    class Last:
        def __init__(self, topic: str) -> None:
            self.topic = topic

        def partition(self, msg: ProducerMessage, n: int) -> int:
            return n - 1

        def requires_consistency(self) -> bool:
            return True

    p = mocks.AsyncProducer(config(partitioner=Last)).set_default_partitions(5)
    msg = message()
    p.expect_input_and_succeed().input().send(msg)
    p.close()
    assert msg.partition == 4


@pytest.mark.parametrize("partition", [-1, 32])
def test_partitioner_error_fails_the_message_and_the_test(partition: int) -> None:
    p = mocks.AsyncProducer(config(partitioner="manual")).expect_input_and_succeed()
    p.input().send(message(partition=partition))
    perr = p.errors().recv(timeout=5)
    assert perr is not None and isinstance(perr.err, InvalidPartitionError)
    with pytest.raises(AssertionError, match="Partitioner returned an error: "
                                             "InvalidPartitionError: kafka: partitioner returned"):
        p.close()


@pytest.mark.parametrize("n", [0, -1, 1.5, "3"])
def test_partition_counts_must_be_positive_ints(n: Any) -> None:
    s = mocks.SyncProducer()
    with pytest.raises(ValueError, match="partition count must be an int >= 1"):
        s.set_partitions("t", n)
    with pytest.raises(ValueError, match="partition count must be an int >= 1"):
        s.set_default_partitions(n)


# -- AsyncProducer: lifecycle ---------------------------------------------------------------


def test_close_ends_the_goroutine_and_closes_the_channels() -> None:
    p = mocks.AsyncProducer(config(successes=True)).expect_input_and_succeed()
    assert len(mock_goroutines()) == 1
    assert repr(p) == "<mocks.AsyncProducer open, 1 expectations left>"
    p.input().send(message())
    p.close()
    assert p.closed, repr(p)
    assert not mock_goroutines()
    assert p.successes().closed and p.errors().closed
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        p.input().send(message())
    p.close()  # again: nothing new to report


def test_async_close_then_drain_ends_the_goroutine() -> None:
    p = mocks.AsyncProducer(config(successes=True)).expect_input_and_succeed()
    p.input().send(message())
    p.async_close()
    p.async_close()  # harmless
    assert [m.offset for m in p.successes()] == [1]
    assert list(p.errors()) == []
    assert p.closed and not mock_goroutines()
    p.close()


def test_channels_are_buffered_to_channel_buffer_size() -> None:
    p = mocks.AsyncProducer(config(cbs=3))
    assert (p.input().cap, p.successes().cap, p.errors().cap) == (3, 3, 3)
    p.close()


def test_close_drains_unread_successes_instead_of_hanging() -> None:
    # One in the successes buffer, one held by the blocked goroutine, one in input's buffer.
    p = mocks.AsyncProducer(config(successes=True, cbs=1))
    msgs = [message() for _ in range(3)]
    for m in msgs:
        p.expect_input_and_succeed()
        p.input().send(m)
    p.close()
    assert [m.offset for m in msgs] == [1, 2, 3]
    assert not mock_goroutines()


def test_unbuffered_mock_works_with_a_select_loop() -> None:
    from gochan import select

    p = mocks.AsyncProducer(config(successes=True, cbs=0))
    for i in range(20):
        p.expect_input_and_succeed() if i % 4 else p.expect_input_and_fail(BrokerError("x"))
    pending = [message(key=f"k{i}") for i in range(20)]
    ok = failed = 0
    while ok + failed < 20:
        cases: list[Any] = [p.successes().recv, p.errors().recv]
        if pending:
            cases.append((p.input().send, pending[0]))
        i, _ = select(*cases)
        if i == 2:
            pending.pop(0)
        elif i == 0:
            ok += 1
        else:
            failed += 1
    p.close()
    assert (ok, failed) == (15, 5)


def test_context_manager_closes() -> None:
    with mocks.AsyncProducer() as p:
        p.expect_input_and_succeed().input().send(message())
    assert p.closed and not mock_goroutines()
    with pytest.raises(AssertionError, match="but 1 is left"), mocks.AsyncProducer() as p:
        p.expect_input_and_succeed()
    assert not mock_goroutines()


def test_close_from_a_checker_is_refused_not_deadlocked() -> None:
    reported: list[str] = []
    p = mocks.AsyncProducer(config(errors=False), reporter=reported.append)
    p.expect_input_with_message_checker_and_succeed(lambda msg: p.close())
    p.input().send(message())
    p.close()
    assert len(reported) == 1
    assert "RuntimeError: close() called from the mock producer's own goroutine" in reported[0]


def test_expectations_can_be_added_while_running() -> None:
    p = mocks.AsyncProducer(config(successes=True))
    for i in range(5):
        p.expect_input_and_succeed()
        p.input().send(message())
        assert p.successes().recv(timeout=5).offset == i + 1  # type: ignore[union-attr]
    p.close()


@pytest.mark.parametrize("mock", [mocks.AsyncProducer, mocks.SyncProducer])
def test_setters_reject_bad_arguments(mock: Any) -> None:
    p = mock()
    prefix = "expect_input" if mock is mocks.AsyncProducer else "expect_send_message"
    with pytest.raises(TypeError, match="must be an exception, not NoneType"):
        getattr(p, f"{prefix}_and_fail")(None)
    with pytest.raises(TypeError, match="must be an exception, not str"):
        getattr(p, f"{prefix}_with_checker_and_fail")(lambda v: None, "boom")
    with pytest.raises(TypeError, match="value checker must be callable"):
        getattr(p, f"{prefix}_with_checker_and_succeed")(b"v")
    with pytest.raises(TypeError, match="checker must be callable"):
        getattr(p, f"{prefix}_with_message_checker_and_succeed")(b"v")
    with pytest.raises(TypeError, match="reporter must be callable"):
        mock(reporter="t")
    p.close()  # nothing was expected


# -- SyncProducer ------------------------------------------------------------------------------


def test_sync_send_message_returns_partition_and_offset() -> None:
    s = mocks.SyncProducer().expect_send_message_and_succeed().expect_send_message_and_succeed()
    a, b = message(key="k"), message(key="other", topic="u")
    assert s.send_message(a) == (PARTITIONERS["hash"]("t").partition(a, 32), 1)
    assert s.send_message(b) == (b.partition, 2)
    assert (a.offset, b.offset) == (1, 2)
    s.close()


def test_sync_does_not_require_return_successes() -> None:
    c = config(successes=False)
    s = mocks.SyncProducer(c).expect_send_message_and_succeed()
    assert s.send_message(message())[1] == 1
    s.close()


def test_sync_fail_raises_the_bare_error() -> None:
    boom = BrokerError("NOT_LEADER")
    s = mocks.SyncProducer().expect_send_message_and_fail(boom)
    msg = message()
    with pytest.raises(BrokerError) as info:
        s.send_message(msg)
    assert info.value is boom and msg.offset == -1
    s.close()


def test_sync_checkers() -> None:
    s = (mocks.SyncProducer()
         .expect_send_message_with_checker_and_succeed(lambda v: v == b"yes")
         .expect_send_message_with_checker_and_fail(lambda v: v == b"yes", BrokerError("planned"))
         .expect_send_message_with_message_checker_and_succeed(lambda m: m.key == b"k")
         .expect_send_message_with_message_checker_and_fail(lambda m: None, KeyError("k")))
    assert s.send_message(message("yes"))[1] == 1
    with pytest.raises(BrokerError, match="planned"):
        s.send_message(message("yes"))
    assert s.send_message(message(key=b"k"))[1] == 2
    with pytest.raises(KeyError):
        s.send_message(message())
    s.close()


def test_sync_failed_check_raises_assertion_error_at_once() -> None:
    s = mocks.SyncProducer().expect_send_message_with_checker_and_succeed(_raises)
    with pytest.raises(AssertionError, match=r"^mocks\.SyncProducer: Check function returned "
                                             r"an error: ValueError: unexpected value b'v'"):
        s.send_message(message())
    with pytest.raises(AssertionError, match="Check function returned an error"):
        s.close()  # listed again: code under test might have swallowed it


def test_sync_failed_check_with_a_reporter_raises_the_checkers_error() -> None:
    reported: list[str] = []
    s = mocks.SyncProducer(reporter=reported.append)
    s.expect_send_message_with_checker_and_succeed(_raises)
    with pytest.raises(ValueError, match="unexpected value"):
        s.send_message(message())
    s.close()
    assert len(reported) == 1 and reported[0].startswith("Check function returned an error")


def test_sync_no_expectation_left() -> None:
    s = mocks.SyncProducer()
    with pytest.raises(AssertionError, match="No more expectations set on this mock producer "
                                             "to handle the input message ProducerMessage"):
        s.send_message(message())
    reported: list[str] = []
    r = mocks.SyncProducer(reporter=reported.append)
    with pytest.raises(mocks.OutOfExpectationsError, match="no more expectations set on mock"):
        r.send_message(message())
    assert len(reported) == 1
    r.close()
    with pytest.raises(AssertionError, match="No more expectations"):
        s.close()


def test_sync_swallowed_failure_still_fails_at_close() -> None:
    def code_under_test(producer: Any) -> None:
        try:
            producer.send_message(message(b"unexpected"))
        except Exception:
            pass  # "best effort" code that would hide the mock's AssertionError

    s = mocks.SyncProducer()
    code_under_test(s)
    with pytest.raises(AssertionError, match="No more expectations"):
        s.close()


def test_sync_with_block_does_not_raise_twice() -> None:
    with pytest.raises(AssertionError) as info, mocks.SyncProducer() as s:
        s.send_message(message())
    assert info.value.__context__ is None  # only the send's own AssertionError
    with pytest.raises(AssertionError, match="2 problems") as info, mocks.SyncProducer() as s:
        s.expect_send_message_with_checker_and_succeed(lambda v: False)
        s.expect_send_message_and_succeed()
        s.send_message(message())
    assert "but 1 is left" in str(info.value)


@pytest.mark.parametrize(("left", "text"), [(1, "1 is left"), (2, "2 are left")])
def test_sync_unmet_expectations_fail_at_close(left: int, text: str) -> None:
    s = mocks.SyncProducer()
    for _ in range(left):
        s.expect_send_message_and_succeed()
    with pytest.raises(AssertionError, match=f"Expected to exhaust all expectations, but {text}"):
        s.close()
    s.close()  # reported once
    reported: list[str] = []
    r = mocks.SyncProducer(reporter=reported.append).expect_send_message_and_succeed()
    r.close()
    assert reported == ["Expected to exhaust all expectations, but 1 is left."]


def test_sync_send_messages_succeeds_in_order() -> None:
    s = mocks.SyncProducer().set_default_partitions(4)
    for _ in range(3):
        s.expect_send_message_and_succeed()
    msgs = [message(key=f"k{i}") for i in range(3)]
    assert s.send_messages(msgs) is None  # type: ignore[func-returns-value]
    assert [m.offset for m in msgs] == [1, 2, 3]
    assert all(0 <= m.partition < 4 for m in msgs)
    s.close()


def test_sync_send_messages_raises_the_first_failure_plainly() -> None:
    first, second = BrokerError("first"), BrokerError("second")
    s = (mocks.SyncProducer().expect_send_message_and_fail(first)
         .expect_send_message_and_succeed().expect_send_message_and_fail(second))
    msgs = [message(), message(), message()]
    with pytest.raises(BrokerError) as info:
        s.send_messages(msgs)
    assert info.value is first  # not ProducerErrors: sarama's mock returns the first error
    assert [m.offset for m in msgs] == [-1, 1, -1]  # every message was handled
    s.close()


def test_sync_send_messages_needs_enough_expectations() -> None:
    s = mocks.SyncProducer().expect_send_message_and_succeed()
    with pytest.raises(AssertionError, match="Insufficient expectations set on this mock "
                                             "producer to handle the input messages: 2 "
                                             "messages, 1 expectations left"):
        s.send_messages([message(), message()])
    assert s.send_message(message())[1] == 1  # none was consumed
    with pytest.raises(AssertionError, match="Insufficient"):
        s.close()
    reported: list[str] = []
    r = mocks.SyncProducer(reporter=reported.append)
    with pytest.raises(mocks.OutOfExpectationsError):
        r.send_messages([message()])
    r.close()
    assert len(reported) == 1


def test_sync_message_the_real_producer_rejects() -> None:
    s = mocks.SyncProducer().expect_send_message_and_succeed()
    with pytest.raises(AssertionError, match="rejected, as the real producer would reject it: "
                                             "TypeError: message value must be bytes"):
        s.send_message(message(value=1))
    reported: list[str] = []
    r = mocks.SyncProducer(reporter=reported.append).expect_send_message_and_succeed()
    with pytest.raises(TypeError, match="message value must be bytes"):
        r.send_message(message(value=1))
    r.close()
    assert len(reported) == 1
    with pytest.raises(AssertionError):
        s.close()


def test_sync_partitioning_and_partitioner_errors() -> None:
    s = mocks.SyncProducer(config(partitioner="manual")).set_partitions("t", 10)
    s.expect_send_message_and_succeed().expect_send_message_and_succeed()
    assert s.send_message(message(partition=9)) == (9, 1)
    with pytest.raises(AssertionError, match="Partitioner returned an error"):
        s.send_message(message(partition=10))
    with pytest.raises(AssertionError, match="Partitioner returned an error"):
        s.close()


def test_sync_invalid_config() -> None:
    bad = config()
    bad.net.max_open_requests = 0
    with pytest.raises(AssertionError, match=r"Invalid mock configuration provided: .*"
                                             r"net\.max_open_requests"):
        mocks.SyncProducer(bad)
    reported: list[str] = []
    s = mocks.SyncProducer(bad, reporter=reported.append).expect_send_message_and_succeed()
    assert s.send_message(message())[1] == 1
    s.close()
    assert len(reported) == 1


def test_sync_closed() -> None:
    s = mocks.SyncProducer()
    s.close()
    assert s.closed
    with pytest.raises(ClosedProducerError):
        s.send_message(message())
    with pytest.raises(ClosedProducerError):
        s.send_messages([message()])


def test_sync_type_errors() -> None:
    s = mocks.SyncProducer().expect_send_message_and_succeed()
    with pytest.raises(TypeError, match="takes a ProducerMessage"):
        s.send_message(b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes ProducerMessages"):
        s.send_messages([b"v"])  # type: ignore[list-item]
    assert s.send_message(message())[1] == 1  # nothing consumed by the bad calls
    s.close()


def test_sync_is_thread_safe() -> None:
    n = 200
    s = mocks.SyncProducer()
    for _ in range(n):
        s.expect_send_message_and_succeed()
    results: list[tuple[int, int]] = []

    def worker() -> None:
        for _ in range(n // 4):
            results.append(s.send_message(message()))

    workers = [go(worker) for _ in range(4)]
    for w in workers:
        w.join(timeout=10)
    assert sorted(offset for _, offset in results) == list(range(1, n + 1))
    s.close()


# -- one object, one send (issue 14, item 1): the real producer's words ------------------------

IN_FLIGHT = ("this ProducerMessage object is already in flight (accepted by a producer, its "
             "result not yet delivered); build a new ProducerMessage for each send")


def test_sync_send_messages_with_one_object_twice_raises_before_handling_any() -> None:
    s = mocks.SyncProducer().expect_send_message_and_succeed()
    for _ in range(3):
        s.expect_send_message_and_succeed()
    msg = message()
    with pytest.raises(ValueError) as info:
        s.send_messages([msg] * 3)
    assert str(info.value) == (
        "send_messages(): the same ProducerMessage object is at positions 0 and 1 of the "
        "batch; build a new ProducerMessage for each send")
    assert msg.offset == -1  # nothing handled, no expectation consumed
    s.send_messages([msg, message(), message()])
    assert s.send_message(msg) == (msg.partition, 4)  # released: it may be sent again
    s.close()


def test_sync_send_of_an_object_in_flight_raises_the_real_producers_error() -> None:
    s = mocks.SyncProducer()
    msg = message()
    inner: list[BaseException] = []

    def resend(m: ProducerMessage) -> None:
        try:
            s.send_message(m)  # from the checker: m is in flight in this very call
        except ValueError as exc:
            inner.append(exc)

    s.expect_send_message_with_message_checker_and_succeed(resend)
    s.send_message(msg)
    assert [str(e) for e in inner] == [f"send_message(): {IN_FLIGHT}"]
    s.close()


def test_async_input_of_an_object_in_flight_fails_it_and_consumes_no_expectation() -> None:
    holder = mocks.AsyncProducer(config(successes=True))
    other = mocks.AsyncProducer(config(successes=True))
    entered, release = Chan[None](), Chan[None]()

    def hold(m: ProducerMessage) -> None:
        entered.send(None)
        release.recv()

    holder.expect_input_with_message_checker_and_succeed(hold)
    other.expect_input_and_succeed()
    msg, fresh = message(), message()
    holder.input().send(msg)
    entered.recv()  # msg is in flight in holder
    other.input().send(msg)
    err = other.errors().recv()
    assert err.msg is msg and isinstance(err.err, ValueError) and str(err.err) == IN_FLIGHT
    other.input().send(fresh)  # the expectation is still there
    assert other.successes().recv() is fresh
    release.send(None)
    assert holder.successes().recv() is msg
    other.expect_input_and_succeed()
    other.input().send(msg)  # delivered: it may be sent again
    assert other.successes().recv() is msg
    holder.close()
    other.close()


# -- the package ------------------------------------------------------------------------------


def test_public_surface() -> None:
    assert mocks.__all__ == sorted(mocks.__all__)
    for name in ("AsyncProducer", "SyncProducer", "OutOfExpectationsError"):
        obj = getattr(mocks, name)
        assert obj.__module__ == "producer.mocks" and obj.__doc__
    import producer

    assert "mocks" not in producer.__all__


def test_code_written_for_the_real_producer_runs_on_the_mocks() -> None:
    import producer

    for name in ("input", "successes", "errors", "async_close", "close", "closed",
                 "__enter__", "__exit__"):
        assert hasattr(producer.AsyncProducer, name) and hasattr(mocks.AsyncProducer, name)
    for name in ("send_message", "send_messages", "close", "__enter__", "__exit__"):
        assert hasattr(producer.SyncProducer, name) and hasattr(mocks.SyncProducer, name)


def test_the_mocks_have_the_asyncio_face() -> None:
    """Code written for the real producers' asyncio face runs on the mocks (issue 14)."""
    import asyncio

    async def main() -> None:
        async with mocks.SyncProducer() as s:
            s.expect_send_message_and_succeed().expect_send_message_and_succeed()
            _, offset = await s.send_message_async(message())
            assert offset == 1
            await s.send_messages_async([message()])
        async with mocks.AsyncProducer(config(successes=True)) as p:
            p.expect_input_and_succeed()
            await p.input().send_async(message())
            got = await p.successes().recv_async()
            assert got is not None and got.offset == 1
        q = mocks.AsyncProducer()
        await q.aclose()
        assert q.closed

    asyncio.run(main())
