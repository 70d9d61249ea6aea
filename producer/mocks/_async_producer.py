"""``mocks.AsyncProducer``: sarama's ``mocks.AsyncProducer``, one goroutine that answers
each input message with the next expectation."""

from __future__ import annotations

import threading
from typing import Any, cast

from gochan import Chan, ClosedChannelError, Goroutine, Once, go

from .._async_producer import drain_until_finished
from .._config import Config
from .._errors import ClosedProducerError, ProducerError, ProducerErrors
from .._message import IN_FLIGHT, ProducerMessage, claim_one, release
from .._stall import annotate, idle_stage
from ._common import (
    ErrorReporter,
    MessageChecker,
    OutOfExpectationsError,
    ValueChecker,
    _describe,
    _failure,
    _MockProducer,
    _value_checker,
)
from ._txn import MockTransactions

__all__ = ["AsyncProducer"]


class AsyncProducer(MockTransactions, _MockProducer):
    """A stand-in for :class:`producer.AsyncProducer` in unit tests; no broker involved.

    Set expectations first, one per message the code under test will send, then
    hand the mock to that code: it has the real producer's ``input()``,
    ``successes()``, ``errors()``, ``async_close()``, ``close()`` and ``with``.
    One goroutine pairs each message sent on ``input()`` with the next expectation
    (FIFO) and, as the real producer would deliver it:

    1. fails it if the real producer would (bad topic name, key/value/header type,
       size), as a test failure too;
    2. partitions it with ``config.producer.partitioner`` over
       :meth:`set_partitions` (default 32) partitions, setting ``msg.partition``;
    3. runs the expectation's checker, if any; a failed check is a test failure and
       the message fails with the checker's error (the outcome is not applied);
    4. succeeds: ``msg.offset`` is set from a counter per mock that starts at 1 and
       counts every success (as sarama's), and the message goes to ``successes()``
       if ``return_successes``; or fails: a :class:`ProducerError` goes to
       ``errors()`` if ``return_errors``.

    A message with no expectation left is a test failure and fails with
    :class:`OutOfExpectationsError` (sarama's mock drops it; a caller waiting for
    its result would hang). Every message thus comes back exactly once, as from the
    real producer. A message object that is already in flight (in this or another
    producer) fails on ``errors()`` with the real producer's ``ValueError`` cause and
    consumes no expectation. Transactions: see :class:`~producer.mocks.MockTransactions`.
    The three channels are buffered to ``channel_buffer_size``, as
    in sarama's mock. Interceptors are not run (nor are they by sarama's mock).

    Test failures go to ``reporter`` (a callable taking the message, like Go's
    ``t.Errorf``) when one is given; otherwise :meth:`close` raises one
    ``AssertionError`` listing them, leftover expectations included. An invalid
    config is a test failure (raised by the constructor without a reporter).

    You must drain ``errors()`` (and ``successes()`` when enabled) or the producer
    will deadlock, as the real one does once the buffers are full; ``close()``
    drains them. Always close the mock: its goroutine ends there.
    """

    _owner = "mocks.AsyncProducer"

    def __init__(self, config: Config | None = None, *,
                 reporter: ErrorReporter | None = None) -> None:
        super().__init__(config, reporter)
        self._init_txn(config)
        cbs = self._channel_buffer_size
        self._input: Chan[ProducerMessage] = Chan(cbs)
        self._successes: Chan[ProducerMessage] = Chan(cbs)
        self._errors: Chan[ProducerError] = Chan(cbs)
        self._close_once = Once()
        self._finished: Chan[None] = Chan()  # closed when the goroutine is done
        annotate(self._input, self._successes, self._errors, None,
                 return_successes=self._return_successes, return_errors=self._return_errors)
        self._goroutine: Goroutine = go(self._handle_inputs)

    # -- the real producer's surface -----------------------------------------------------

    def input(self) -> Chan[ProducerMessage]:
        """The channel to send :class:`ProducerMessage` s on, as the real ``input()``;
        each one consumes an expectation."""
        return self._input

    def successes(self) -> Chan[ProducerMessage]:
        """Messages whose expectation succeeded, with ``partition`` and ``offset`` set.

        Only with ``return_successes``; you MUST read from this channel then, or the
        mock will deadlock once its buffer is full.
        """
        return self._successes

    def errors(self) -> Chan[ProducerError]:
        """Failed messages as :class:`ProducerError`, with ``return_errors`` (the
        default); you MUST read from this channel, as from the real one."""
        return self._errors

    def async_close(self) -> None:
        """Close ``input()`` and return at once (sarama's ``AsyncClose()``).

        The goroutine handles what was sent before, reports leftover expectations,
        then closes ``successes()`` and ``errors()``: drain both until then.
        Calling it again is harmless; a send on ``input()`` afterwards raises
        ``send on closed channel``.
        """
        self._close_once.do(self._input.close)

    def close(self) -> None:
        """Shut down and wait, as the real ``close()``; then the goroutine has ended.

        Drains (and discards) ``successes()`` and collects ``errors()``. Calling it
        again raises only what is new.

        Raises:
            AssertionError: without a reporter, the test failures found since the
                last close, listed (no expectation for a message, failed checks,
                unmet expectations, ...).
            ProducerErrors: the errors collected while closing, if any and there was
                no test failure to raise (the real producer's ``close()`` raises it).
            BaseException: what a checker, partitioner or reporter raised on the
                goroutine that is not an ``Exception`` (``pytest.fail``), re-raised.
            RuntimeError: called from the mock's own goroutine (a checker).
        """
        self._close(None)

    def _close(self, in_flight: BaseException | None) -> None:
        if threading.get_ident() == self._goroutine.thread.ident:
            raise RuntimeError("close() called from the mock producer's own goroutine (a "
                               "checker or partitioner) would deadlock; use async_close()")
        self.async_close()
        collected = drain_until_finished(self._successes if self._return_successes else None,
                                         self._errors if self._return_errors else None,
                                         self._finished)
        self._report.check(in_flight)
        if collected:
            raise ProducerErrors(collected)

    @property
    def closed(self) -> bool:
        """Whether the goroutine has finished (after ``close()`` or ``async_close()``)."""
        return self._finished.closed

    def __enter__(self) -> AsyncProducer:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._close(exc)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<mocks.AsyncProducer {state}, {self._left()} expectations left>"

    # -- expectations (sarama's names, snake_case; each returns the mock) ------------------

    def expect_input_and_succeed(self) -> AsyncProducer:
        """Expect a message on ``input()``; it is produced successfully."""
        return self._expect(None, None)

    def expect_input_and_fail(self, err: BaseException) -> AsyncProducer:
        """Expect a message on ``input()``; it fails with ``err`` (on ``errors()``)."""
        return self._expect(None, _failure(err))

    def expect_input_with_checker_and_succeed(self, value_checker: ValueChecker) -> AsyncProducer:
        """Expect a message whose encoded value (``bytes``, or ``None``) passes
        ``value_checker``; it then succeeds.

        A checker passes by returning ``None`` or ``True``; raising, or returning an
        exception or ``False``, fails the check (a test failure).
        """
        return self._expect(_value_checker(value_checker), None)

    def expect_input_with_checker_and_fail(self, value_checker: ValueChecker,
                                           err: BaseException) -> AsyncProducer:
        """Expect a message whose encoded value passes ``value_checker``; it then fails
        with ``err``."""
        return self._expect(_value_checker(value_checker), _failure(err))

    def expect_input_with_message_checker_and_succeed(
            self, msg_checker: MessageChecker) -> AsyncProducer:
        """Expect a message that passes ``msg_checker`` (given the
        :class:`ProducerMessage` as sent, key and value unencoded, ``partition``
        already chosen); it then succeeds."""
        return self._expect(msg_checker, None)

    def expect_input_with_message_checker_and_fail(self, msg_checker: MessageChecker,
                                                   err: BaseException) -> AsyncProducer:
        """Expect a message that passes ``msg_checker``; it then fails with ``err``."""
        return self._expect(msg_checker, _failure(err))

    def _wait_for_sent(self) -> None:
        """A marker through ``input()``, as the real producer's commit sends one: when
        the goroutine reaches it, everything sent before has been handled."""
        marker = _Handled()
        try:
            cast(Chan[Any], self._input).send(marker)
        except ClosedChannelError:
            raise ClosedProducerError("kafka: tried to use a producer that was closed") from None
        marker.done.recv()

    # -- the goroutine -------------------------------------------------------------------

    @idle_stage
    def _handle_inputs(self) -> None:
        """Singleton. Pairs each input message with the next expectation until
        ``input()`` closes, then reports leftovers and closes the output channels."""
        raw: Chan[Any] = self._input  # the code under test may send anything
        try:
            for item in raw:
                if type(item) is _Handled:
                    item.done.close()
                    continue
                try:
                    self._handle_one(item)
                except BaseException as exc:  # pytest.fail() in a checker: close() raises it
                    self._report.defer(exc)
                    self._fail(item, exc)
            for leftover in (self._leftover_problem(), self._txn_leftover_problem()):
                if leftover is not None:
                    self._report.add(leftover)
        finally:
            self._errors.close()
            self._successes.close()
            self._finished.close()

    def _handle_one(self, item: object) -> None:
        if not isinstance(item, ProducerMessage):
            err = TypeError(f"input() takes ProducerMessage objects, not {type(item).__name__}")
            self._report.add(f"{_describe(err)}: {item!r}")
            self._fail(item, err)
            return
        if not claim_one(item, self):  # as the real producer: no expectation consumed
            self._send_error(item, ValueError(IN_FLIGHT))
            return
        refusal = self._txn_refusal()
        if refusal is not None:  # sarama's mock: a test failure, no expectation consumed
            self._report.add(f"{refusal}: {item!r}")
            self._fail(item, self._refuse_outside())
            return
        taken = self._take()
        if taken is None:
            self._report.add("No more expectations set on this mock producer to handle the "
                             f"input message {item!r}.")
            self._fail(item, OutOfExpectationsError())
            return
        problem, failure = self._handle(item, taken[0])
        if problem is not None:
            self._report.add(problem)
        if failure is not None:
            self._fail(item, failure)
        else:
            release(item, self)  # before the send: the reader may send it again at once
            if self._return_successes:
                self._successes.send(item)

    def _fail(self, item: object, err: BaseException) -> None:
        if isinstance(item, ProducerMessage):
            release(item, self)
        self._send_error(item, err)

    def _send_error(self, item: object, err: BaseException) -> None:
        if self._return_errors:
            self._errors.send(ProducerError(item if isinstance(item, ProducerMessage) else None,
                                            err))


class _Handled:
    """What a transaction's end sends through ``input()`` to wait for the messages
    sent before it; the goroutine closes ``done`` when it reaches it."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done: Chan[None] = Chan()
