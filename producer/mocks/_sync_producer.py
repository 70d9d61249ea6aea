"""``mocks.SyncProducer``: sarama's ``mocks.SyncProducer``, answering each
``send_message`` with the next expectation in the caller's thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .._config import Config
from .._errors import ClosedProducerError
from .._message import ProducerMessage, claim, release
from ._common import (
    ErrorReporter,
    MessageChecker,
    OutOfExpectationsError,
    ValueChecker,
    _failure,
    _MockProducer,
    _value_checker,
)
from ._txn import MockTransactions

__all__ = ["SyncProducer"]


class SyncProducer(MockTransactions, _MockProducer):
    """A stand-in for :class:`producer.SyncProducer` in unit tests; no broker involved.

    Set expectations first, one per message the code under test will send. Each
    ``send_message`` takes the next expectation (FIFO) and handles the message as
    :class:`mocks.AsyncProducer <producer.mocks.AsyncProducer>` does (the real
    producer's checks, partitioning over :meth:`set_partitions` partitions, the
    checker), then returns ``(partition, offset)``, the offset from a counter per
    mock starting at 1, or raises the expectation's error, bare as the real
    ``send_message`` raises it. Unlike the real one, it does not require
    ``return_successes``.

    Test failures (no expectation left, a failed check, a message the real producer
    would reject, an invalid config) go to ``reporter`` when one is given (a callable
    taking the message, like Go's ``t.Errorf``), and the call then raises what
    sarama's mock returns (the checker's error, :class:`OutOfExpectationsError`...).
    Without a reporter the call raises an ``AssertionError`` at once, and
    :meth:`close` raises one listing every failure, leftover expectations included,
    so code under test cannot swallow them. Thread-safe; calls are serialized.
    """

    _owner = "mocks.SyncProducer"

    def __init__(self, config: Config | None = None, *,
                 reporter: ErrorReporter | None = None) -> None:
        super().__init__(config, reporter)
        self._init_txn(config)
        self._send_lock = threading.Lock()  # held for a whole send or close, as sarama's l
        self._closed = False

    def send_message(self, msg: ProducerMessage) -> tuple[int, int]:
        """Consume the next expectation for ``msg``: ``(partition, offset)`` on success.

        Raises:
            AssertionError: without a reporter, a test failure (no expectation left,
                failed check, a message the real producer would reject).
            OutOfExpectationsError: no expectation left, with a reporter.
            BaseException: the expectation's error, or with a reporter, the
                checker's error or why the real producer would fail the message.
            ClosedProducerError: after :meth:`close`.
            TypeError: ``msg`` is not a :class:`ProducerMessage`.
            ValueError: ``msg`` is already in flight (the real producer's message).
        """
        if not isinstance(msg, ProducerMessage):
            raise TypeError(f"send_message() takes a ProducerMessage, not {type(msg).__name__}")
        claim([msg], self, "send_message()")  # in flight until it returns, as the real one
        try:
            return self._send_one(msg)
        finally:
            release(msg, self)

    def _send_one(self, msg: ProducerMessage) -> tuple[int, int]:
        with self._send_lock:
            self._check_open()
            self._refuse_if_outside(msg)
            taken = self._take()
            if taken is None:
                self._report.raise_now(["No more expectations set on this mock producer to "
                                        f"handle the input message {msg!r}."])
                raise OutOfExpectationsError()
            problem, failure = self._handle(msg, taken[0])
            if problem is not None:
                self._report.raise_now([problem])
            if failure is not None:
                raise failure
            return msg.partition, msg.offset

    async def send_message_async(self, msg: ProducerMessage) -> tuple[int, int]:
        """:meth:`send_message` for asyncio, as the real ``send_message_async`` (the mock
        answers at once, so it runs on the loop)."""
        return self.send_message(msg)

    async def send_messages_async(self, msgs: Iterable[ProducerMessage]) -> None:
        """:meth:`send_messages` for asyncio, as the real ``send_messages_async``."""
        self.send_messages(msgs)

    def send_messages(self, msgs: Iterable[ProducerMessage]) -> None:
        """Consume one expectation per message, in order, as sarama's mock does.

        Needs at least ``len(msgs)`` expectations, or none is consumed (a test
        failure). Every message is handled; successful ones get ``partition`` and
        ``offset``. **Unlike the real** ``send_messages``, which raises
        :class:`ProducerErrors <producer.ProducerErrors>` with every failure, this
        raises the first failure's error itself, as sarama's mock returns it.

        Raises:
            AssertionError: without a reporter, the test failures among these
                messages, or too few expectations.
            OutOfExpectationsError: too few expectations, with a reporter.
            BaseException: the first failed message's error.
            ClosedProducerError: after :meth:`close`.
            TypeError: an item is not a :class:`ProducerMessage`.
            ValueError: before anything is handled, an object appears twice in
                ``msgs`` or is already in flight (the real producer's messages).
        """
        msgs = list(msgs)
        for msg in msgs:
            if not isinstance(msg, ProducerMessage):
                raise TypeError(
                    f"send_messages() takes ProducerMessages, not {type(msg).__name__}")
        claim(msgs, self, "send_messages()")
        try:
            self._send_batch(msgs)
        finally:
            for msg in msgs:
                release(msg, self)

    def _send_batch(self, msgs: list[ProducerMessage]) -> None:
        with self._send_lock:
            self._check_open()
            self._refuse_if_outside(msgs)
            taken = self._take(len(msgs))
            if taken is None:
                self._report.raise_now([
                    "Insufficient expectations set on this mock producer to handle the input "
                    f"messages: {len(msgs)} messages, {self._left()} expectations left."])
                raise OutOfExpectationsError()
            problems: list[str] = []
            failures: list[BaseException] = []
            for msg, exp in zip(msgs, taken, strict=True):
                problem, failure = self._handle(msg, exp)
                if problem is not None:
                    problems.append(problem)
                if failure is not None:
                    failures.append(failure)
            self._report.raise_now(problems)
            if failures:
                raise failures[0]

    def close(self) -> None:
        """Report leftover expectations; always returns ``None`` otherwise, as sarama's.

        Later calls only raise what is new; sends after it raise
        :class:`ClosedProducerError`.

        Raises:
            AssertionError: without a reporter, every test failure of this mock not
                listed by an earlier ``close()``: those raised at once by the send
                methods too, then the expectations left.
        """
        self._close(None)

    def _close(self, in_flight: BaseException | None) -> None:
        with self._send_lock:
            leftovers = [] if self._closed else [self._leftover_problem(),
                                                  self._txn_leftover_problem()]
            self._closed = True
        for leftover in leftovers:
            if leftover is not None:
                self._report.add(leftover)  # raised by check(), or a reporter's error re-raised
        self._report.check(in_flight)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> SyncProducer:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._close(exc)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<mocks.SyncProducer {state}, {self._left()} expectations left>"

    def _refuse_if_outside(self, what: object) -> None:
        """Sent while no transaction is open: a test failure (sarama's mock), and the
        call raises TransactionNotReadyError; no expectation is consumed."""
        refusal = self._txn_refusal()
        if refusal is not None:
            self._report.raise_now([f"{refusal}: {what!r}"])
            raise self._refuse_outside()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedProducerError("kafka: tried to use a producer that was closed")

    # -- expectations (sarama's names, snake_case; each returns the mock) ------------------

    def expect_send_message_and_succeed(self) -> SyncProducer:
        """Expect a message; it is produced: ``send_message`` returns
        ``(partition, offset)``."""
        return self._expect(None, None)

    def expect_send_message_and_fail(self, err: BaseException) -> SyncProducer:
        """Expect a message; it fails: ``send_message`` raises ``err``."""
        return self._expect(None, _failure(err))

    def expect_send_message_with_checker_and_succeed(
            self, value_checker: ValueChecker) -> SyncProducer:
        """Expect a message whose encoded value (``bytes``, or ``None``) passes
        ``value_checker``; it then succeeds.

        A checker passes by returning ``None`` or ``True``; raising, or returning an
        exception or ``False``, fails the check (a test failure).
        """
        return self._expect(_value_checker(value_checker), None)

    def expect_send_message_with_checker_and_fail(self, value_checker: ValueChecker,
                                                  err: BaseException) -> SyncProducer:
        """Expect a message whose encoded value passes ``value_checker``; it then fails
        with ``err``."""
        return self._expect(_value_checker(value_checker), _failure(err))

    def expect_send_message_with_message_checker_and_succeed(
            self, msg_checker: MessageChecker) -> SyncProducer:
        """Expect a message that passes ``msg_checker`` (given the
        :class:`ProducerMessage` as sent, key and value unencoded, ``partition``
        already chosen); it then succeeds."""
        return self._expect(msg_checker, None)

    def expect_send_message_with_message_checker_and_fail(
            self, msg_checker: MessageChecker, err: BaseException) -> SyncProducer:
        """Expect a message that passes ``msg_checker``; it then fails with ``err``."""
        return self._expect(msg_checker, _failure(err))
