"""Test doubles for code that produces: sarama's ``mocks`` package, in Python.

:class:`AsyncProducer` and :class:`SyncProducer` have the real producers' surface
(so the code under test can take either) and answer each message with the next
expectation set on them, in order. No broker, no network. Usage::

    from producer import mocks

    p = mocks.SyncProducer().expect_send_message_and_succeed()
    code_under_test(p)
    p.close()      # AssertionError if an expectation was not met

Type aliases: ``ValueChecker`` is ``Callable[[bytes | None], object]`` (gets the
encoded value), ``MessageChecker`` is ``Callable[[ProducerMessage], object]``; a
checker passes by returning ``None`` or ``True``, and fails by raising or returning
an exception (or ``False``). ``ErrorReporter`` is ``Callable[[str], object]``, the
``reporter=`` that receives each test failure instead of an ``AssertionError``
(Go's ``t.Errorf``): ``pytest.fail``, or a list's ``append``.

Transactions (``begin_txn`` ... ``add_message_to_txn``, ``txn_status``): see
:class:`MockTransactions`; ``expect_commit_txn_and_fail(err)`` makes the next commit fail.

Like sarama's ``mocks``, this package has no API-stability promise yet.
"""

from gochan._public import present_as as _present_as

from ._async_producer import AsyncProducer
from ._common import ErrorReporter, MessageChecker, OutOfExpectationsError, ValueChecker
from ._sync_producer import SyncProducer
from ._txn import MockTransactions

__all__ = [
    "AsyncProducer",
    "ErrorReporter",
    "MessageChecker",
    "MockTransactions",
    "OutOfExpectationsError",
    "SyncProducer",
    "ValueChecker",
]

_present_as("producer.mocks", globals(), __all__)
