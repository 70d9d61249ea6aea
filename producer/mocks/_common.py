"""What both mock producers share: expectations, failure reporting, partitioning, and
the handling of one message (sarama's ``mocks/mocks.go``)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .._aio import off_loop
from .._checks import new_partitioner, partition_index, prepare
from .._config import Config, ProducerConfig
from .._errors import ConfigurationError, KafkaError
from .._message import ProducerMessage, encode_bytes
from .._partitioner import Partitioner

__all__ = [
    "ErrorReporter",
    "MessageChecker",
    "OutOfExpectationsError",
    "ValueChecker",
]

ErrorReporter = Callable[[str], object]
ValueChecker = Callable[[bytes | None], object]
MessageChecker = Callable[[ProducerMessage], object]

_M = TypeVar("_M", bound="_MockProducer")
_A = TypeVar("_A", bound="_MockAio")

DEFAULT_PARTITIONS = 32  # sarama's NewTopicConfig


class OutOfExpectationsError(KafkaError):
    """sarama's ``errOutOfExpectations``: a message arrived and no expectation was left.

    Raised by ``mocks.SyncProducer.send_message``/``send_messages`` when a
    ``reporter`` took the test failure; the cause of the ``ProducerError`` that
    ``mocks.AsyncProducer`` delivers for such a message.
    """

    def __init__(self, message: str = "no more expectations set on mock") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class _Expectation:
    """One expected message: an optional checker, then succeed (``err is None``) or fail."""

    checker: MessageChecker | None
    err: BaseException | None


def _value_checker(check: ValueChecker) -> MessageChecker:
    """A message checker that hands ``check`` the encoded value (sarama's
    ``messageValueChecker``): ``bytes``, or ``None`` for a message without one."""
    if not callable(check):
        raise TypeError(f"a value checker must be callable, not {type(check).__name__}")

    def check_value(msg: ProducerMessage) -> object:
        value = encode_bytes("value", msg.value)
        return check(None if value is None else bytes(value))

    check_value.__qualname__ = getattr(check, "__qualname__", repr(check))
    return check_value


def _run_checker(check: MessageChecker, msg: ProducerMessage) -> BaseException | None:
    """The checker's verdict: ``None`` to pass, else the error the message fails with.

    A checker passes by returning ``None`` or ``True`` and fails by raising, or by
    returning an exception or ``False``; any other return value is a mistake in
    the test and fails too. Only ``Exception`` s are caught.
    """
    try:
        result = check(msg)
    except Exception as exc:
        return exc
    if result is None or result is True:
        return None
    if isinstance(result, BaseException):
        return result
    if result is False:
        return AssertionError("the check function returned False")
    return TypeError(f"the check function returned {result!r}: return None or True to pass, "
                     "an exception or False to fail (or raise)")


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class _Report:
    """Where a mock's test failures ("problems") go: the ``reporter``, or an
    ``AssertionError`` raised in the test's thread.

    Without a reporter, every problem is kept and ``close()`` raises one
    ``AssertionError`` listing those it has not listed before; the SyncProducer
    also raises each at once (``raise_now``). ``close()`` lists a problem even if it
    was raised at once, so code under test that swallows the ``AssertionError``
    (``except Exception``) cannot hide it. With a reporter, each problem is handed
    to it when found (like Go's ``t.Errorf``) and nothing is raised for it.

    An exception the reporter raises propagates in the test's thread; on the mock's
    goroutine it is kept and re-raised by ``close()`` (``reporter=pytest.fail``).
    """

    def __init__(self, owner: str, reporter: ErrorReporter | None) -> None:
        if reporter is not None and not callable(reporter):
            raise TypeError(f"reporter must be callable (like t.Errorf), "
                            f"not {type(reporter).__name__}")
        self._owner = owner
        self._reporter = reporter
        self._lock = threading.Lock()  # guards every field below; never held while reporting
        self._problems: list[str] = []
        self._listed = 0  # problems[:_listed] were listed by close() already
        self._unraised = 0  # problems found that no AssertionError has carried yet
        self._raised: list[AssertionError] = []  # raised at once by raise_now()
        # The first exception raised on the goroutine by the reporter, or by a checker or
        # partitioner that is not an Exception (pytest.fail): close() re-raises it.
        self._deferred: BaseException | None = None

    def add(self, problem: str) -> None:
        """Record a problem found on the mock's goroutine: hand it to the reporter, or
        keep it for ``close()``. Never raises."""
        with self._lock:
            self._problems.append(problem)
            self._unraised += 1
        if self._reporter is not None:
            try:
                self._reporter(problem)
            except BaseException as exc:  # pytest.fail() and friends: for close() to raise
                self.defer(exc)

    def defer(self, exc: BaseException) -> None:
        """Keep the first exception the goroutine must not raise, for ``close()``."""
        with self._lock:
            if self._deferred is None:
                self._deferred = exc

    def raise_now(self, problems: list[str]) -> None:
        """Report problems found in the test's own thread: the reporter gets each (its
        exceptions propagate), or an ``AssertionError`` listing them is raised."""
        if not problems:
            return
        with self._lock:
            self._problems.extend(problems)
        if self._reporter is not None:
            for problem in problems:
                self._reporter(problem)
            return
        error = AssertionError(self._format(problems))
        with self._lock:
            self._raised.append(error)
        raise error

    def check(self, in_flight: BaseException | None = None) -> None:
        """At close: raise what was deferred, then the problems not yet listed.

        ``in_flight`` is an exception already propagating (``__exit__``): if it is
        one this mock raised and nothing new was found since, nothing more is raised.
        """
        with self._lock:
            deferred, self._deferred = self._deferred, None
            new = self._problems[self._listed:]
            self._listed = len(self._problems)
            unraised, self._unraised = self._unraised, 0
            ours = any(in_flight is e for e in self._raised)
        listed = None
        if new and self._reporter is None and not (ours and not unraised):
            listed = AssertionError(self._format(new))
        if deferred is not None:
            if listed is not None:
                raise deferred from listed
            raise deferred
        if listed is not None:
            raise listed

    def _format(self, problems: list[str]) -> str:
        if len(problems) == 1:
            return f"{self._owner}: {problems[0]}"
        lines = "\n".join(f"  {i}. {p}" for i, p in enumerate(problems, 1))
        return f"{self._owner}: {len(problems)} problems:\n{lines}"


class _MockAio:
    """The real producers' asyncio face (``async with``, ``aclose()``), for the mocks:
    closing runs in a goroutine, as the real one's does."""

    def _close(self, in_flight: BaseException | None) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop."""
        await off_loop(lambda: self._close(None))

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await off_loop(lambda: self._close(exc))


class _MockProducer(_MockAio):
    """The state both mocks share (sarama's ``TopicConfig`` and expectation list).

    One per mock. ``_handle`` runs on one thread at a time: the AsyncProducer's
    goroutine, or a SyncProducer call holding its send lock; only it touches
    ``_partitioners`` and ``_last_offset``.
    """

    _owner = "mocks producer"

    def __init__(self, config: Config | None, reporter: ErrorReporter | None) -> None:
        if config is None:
            config = Config()
        if not isinstance(config, Config):
            raise TypeError(f"config must be a producer.Config, not {type(config).__name__}")
        self._report = _Report(self._owner, reporter)
        # Guards _expectations and the partition counts: the test sets them while the
        # goroutine (or another thread) consumes them.
        self._lock = threading.Lock()
        self._expectations: deque[_Expectation] = deque()
        self._default_partitions = DEFAULT_PARTITIONS
        self._partition_counts: dict[str, int] = {}
        self._partitioners: dict[str, Partitioner] = {}
        self._last_offset = 0  # sarama's lastOffset: one counter per mock, every success
        try:
            config.validate()
        except (ConfigurationError, TypeError, ValueError) as exc:
            # Without a reporter this raises; with one, carry on with what is usable.
            self._report.raise_now([f"Invalid mock configuration provided: {exc}"])
        defaults = Config()
        cbs = config.channel_buffer_size
        self._channel_buffer_size = (
            cbs if type(cbs) is int and cbs >= 0 else defaults.channel_buffer_size)
        pc = config.producer if isinstance(config.producer, ProducerConfig) else defaults.producer
        self._producer_config = pc
        size = pc.max_message_bytes
        self._max_bytes = (
            size if type(size) is int and size > 0 else defaults.producer.max_message_bytes)
        self._return_successes = bool(pc.return_successes)
        version = config.version
        self._headers_ok = not (isinstance(version, tuple) and version < (0, 11))
        self._return_errors = bool(pc.return_errors)

    # -- partition counts (sarama's TopicConfig) -------------------------------------------

    def set_default_partitions(self: _M, n: int) -> _M:
        """Partitions every topic not set with :meth:`set_partitions` has (default 32).

        Applies to messages handled afterwards. Returns the mock, for chaining.

        Raises:
            ValueError: ``n`` is not an int >= 1.
        """
        _check_count(n)
        with self._lock:
            self._default_partitions = n
        return self

    def set_partitions(self: _M, topic: str, n: int) -> _M:
        """Partitions ``topic`` has, as the partitioner sees it (sarama's
        ``SetPartitions``). Applies to messages handled afterwards. Returns the mock.

        Raises:
            ValueError: ``n`` is not an int >= 1.
        """
        _check_count(n)
        with self._lock:
            self._partition_counts[topic] = n
        return self

    # -- expectations ------------------------------------------------------------------

    def _expect(self: _M, checker: MessageChecker | None, err: BaseException | None) -> _M:
        if checker is not None and not callable(checker):
            raise TypeError(f"a checker must be callable, not {type(checker).__name__}")
        with self._lock:
            self._expectations.append(_Expectation(checker, err))
        return self

    def _take(self, n: int = 1) -> list[_Expectation] | None:
        """The next ``n`` expectations, FIFO, or ``None`` (and none taken) if fewer are left."""
        with self._lock:
            if len(self._expectations) < n:
                return None
            return [self._expectations.popleft() for _ in range(n)]

    def _left(self) -> int:
        with self._lock:
            return len(self._expectations)

    def _leftover_problem(self) -> str | None:
        left = self._left()
        if not left:
            return None
        verb = "is" if left == 1 else "are"
        return f"Expected to exhaust all expectations, but {left} {verb} left."

    # -- one message -------------------------------------------------------------------

    def _handle(self, msg: ProducerMessage,
                exp: _Expectation) -> tuple[str | None, BaseException | None]:
        """Apply ``exp`` to ``msg`` as the real producer would deliver it.

        In order: the checks the real producer makes (topic name, key/value/header
        types, size), partitioning, then the checker. Returns ``(problem, failure)``:
        ``problem`` is a test failure to report, ``failure`` the error the message
        fails with (``None``: it succeeded, with ``partition`` and ``offset`` set).
        """
        try:
            prepare(msg, self._max_bytes, False, self._headers_ok)
        except Exception as exc:
            return (f"Input message rejected, as the real producer would reject it: "
                    f"{_describe(exc)} (message: {msg!r})"), exc
        try:
            msg.partition = self._partition(msg)
        except Exception as exc:
            return f"Partitioner returned an error: {_describe(exc)} (message: {msg!r})", exc
        if exp.checker is not None:
            err = _run_checker(exp.checker, msg)
            if err is not None:
                return (f"Check function returned an error: {_describe(err)} "
                        f"(message: {msg!r})"), err
        if exp.err is not None:
            return None, exp.err
        self._last_offset += 1
        msg.offset = self._last_offset
        return None, None

    def _partition(self, msg: ProducerMessage) -> int:
        topic = msg.topic
        with self._lock:
            n = self._partition_counts.get(topic, self._default_partitions)
        partitioner = self._partitioners.get(topic)
        if partitioner is None:
            partitioner = self._partitioners[topic] = new_partitioner(
                self._producer_config.partitioner, topic)
        return partition_index(partitioner, msg, n)


def _failure(err: BaseException) -> BaseException:
    """``err`` if it is an exception, for the ``..._and_fail`` setters.

    Raises:
        TypeError: anything else, ``None`` included.
    """
    if not isinstance(err, BaseException):
        raise TypeError(f"the failure must be an exception, not {type(err).__name__}")
    return err


def _check_count(n: object) -> None:
    if type(n) is not int or n < 1:
        raise ValueError(f"a partition count must be an int >= 1, not {n!r}")
