"""The producer's errors, named after sarama's.

    KafkaError                      base of everything the producer raises or reports
     ├── ConfigurationError         sarama's ConfigurationError: a bad config or message size
     ├── ProducerError              one message failed: ``.msg`` and ``.err`` (also ``__cause__``)
     ├── ProducerErrors             ``close()`` / ``send_messages`` collected failures (a list)
     ├── ShuttingDownError          sarama's ErrShuttingDown: sent while the producer closes
     ├── InvalidPartitionError      sarama's ErrInvalidPartition: partitioner chose a bad index
     ├── InvalidTopicError          a topic name Kafka rejects
     ├── ClosedProducerError        a call on a producer that is closed
     ├── AuthenticationError        TLS or SASL refused while connecting: cause and fix
     ├── TransactionError           sarama's transaction manager errors:
     │    ├── TransactionNotReadyError     ErrTransactionNotReady
     │    ├── NonTransactedProducerError   ErrNonTransactedProducer
     │    ├── TransitionNotAllowedError    ErrTransitionNotAllowed
     │    └── TxnUnableToParseResponseError ErrTxnUnableToParseResponse
     └── BrokerError                an error reported by Kafka for a message (``.retriable``)
          └── ProducerFencedError   sarama's ErrProducerFenced: another producer took the
                                    transaction id
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._message import ProducerMessage

__all__ = [
    "AuthenticationError",
    "BrokerError",
    "ClosedProducerError",
    "ConfigurationError",
    "InvalidPartitionError",
    "InvalidTopicError",
    "KafkaError",
    "NonTransactedProducerError",
    "ProducerError",
    "ProducerErrors",
    "ProducerFencedError",
    "ShuttingDownError",
    "TransactionError",
    "TransactionNotReadyError",
    "TransitionNotAllowedError",
    "TxnUnableToParseResponseError",
]


class KafkaError(Exception):
    """Base class of the producer's errors."""


class ConfigurationError(KafkaError, ValueError):
    """An invalid configuration, sarama's ``ConfigurationError``.

    The message names the field in both spellings, ours and sarama's, e.g.
    ``producer.return_successes (sarama: Producer.Return.Successes) must be True``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"kafka: invalid configuration ({message})")


class ShuttingDownError(KafkaError):
    """sarama's ``ErrShuttingDown``: a message sent while the producer is closing."""

    def __init__(self, message: str = "kafka: message received by producer in process of "
                                      "shutting down") -> None:
        super().__init__(message)


class InvalidPartitionError(KafkaError):
    """sarama's ``ErrInvalidPartition``: the partitioner returned an index out of range."""


class InvalidTopicError(KafkaError, ValueError):
    """A topic name Kafka would reject (empty, too long, or bad characters)."""


class ClosedProducerError(KafkaError):
    """A call on a producer that has been closed."""


class AuthenticationError(KafkaError):
    """A connection's TLS or SASL failed (Java's ``AuthenticationException``, sarama's
    ``ErrSASLAuthenticationFailed`` and TLS dial errors): wrong credentials, a
    mechanism or protocol the broker does not speak, an untrusted certificate.

    Raised by the producer constructors; the message names the cause and the
    setting to change, never a password or token.
    """


class BrokerError(KafkaError):
    """An error reported by Kafka (or the client) for a message.

    ``retriable`` says whether Kafka classes it as retriable; by the time it reaches
    ``errors()`` the configured retries have been used up.
    """

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable


class ProducerFencedError(BrokerError):
    """sarama's ``ErrProducerFenced``: a newer producer with the same
    ``producer.transaction.id`` started, so this one may not write any more. Fatal:
    close this producer."""


class TransactionError(KafkaError):
    """Base of sarama's transaction manager errors."""


class TransactionNotReadyError(TransactionError):
    """sarama's ``ErrTransactionNotReady``: no transaction is open (``begin_txn()``
    not called, or the transaction is ending or in error)."""

    def __init__(self, message: str = "transaction manager: transaction is not ready") -> None:
        super().__init__(message)


class NonTransactedProducerError(TransactionError):
    """sarama's ``ErrNonTransactedProducer``: a transaction method on a producer
    without ``producer.transaction.id``."""

    def __init__(self, message: str = "transaction manager: you need to add TransactionalID "
                                      "to producer (producer.transaction.id)") -> None:
        super().__init__(message)


class TransitionNotAllowedError(TransactionError):
    """sarama's ``ErrTransitionNotAllowed``: the call is not allowed in the current
    :class:`~producer.ProducerTxnStatusFlag` status (e.g. ``begin_txn()`` twice)."""

    def __init__(self, message: str = "transaction manager: invalid transition attempted",
                 ) -> None:
        super().__init__(message)


class TxnUnableToParseResponseError(TransactionError):
    """sarama's ``ErrTxnUnableToParseResponse``: a transaction request ended without
    a usable answer (here: the Kafka client reported neither success nor an error)."""

    def __init__(self, message: str = "transaction manager: unable to parse response") -> None:
        super().__init__(message)


class ProducerError(KafkaError):
    """One message that could not be produced: sarama's ``ProducerError``.

    ``msg`` is the :class:`ProducerMessage` (the very object that was sent) and
    ``err`` the cause, also chained as ``__cause__``.
    """

    def __init__(self, msg: ProducerMessage | None, err: BaseException) -> None:
        topic = getattr(msg, "topic", None)
        super().__init__(f"kafka: Failed to produce message to topic {topic}: {err}")
        self.msg = msg
        self.err = err
        self.__cause__ = err


class ProducerErrors(KafkaError):
    """Several failed messages, sarama's ``ProducerErrors``; iterate it for each
    :class:`ProducerError`.

    ``str()`` is sarama's line, then the first :data:`SHOWN` failures (topic,
    partition, cause) and how many more, so an uncaught one shows why::

        kafka: Failed to deliver 12 messages.
          topic orders, partition 3: kafka server: Message was too large ...
          ... and 9 more
    """

    SHOWN = 3  # failures listed by str()

    def __init__(self, errors: Iterable[ProducerError]) -> None:
        self.errors = list(errors)
        super().__init__(f"kafka: Failed to deliver {len(self.errors)} messages.")

    def __str__(self) -> str:
        lines = [str(self.args[0]) if self.args else "kafka: Failed to deliver messages."]
        lines += (f"  {_where(e)}: {_cause(e)}" for e in self.errors[:self.SHOWN])
        if len(self.errors) > self.SHOWN:
            lines.append(f"  ... and {len(self.errors) - self.SHOWN} more")
        return "\n".join(lines)

    def __iter__(self) -> Iterator[ProducerError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def __getitem__(self, index: int) -> ProducerError:
        return self.errors[index]


def _where(err: ProducerError) -> str:
    msg = err.msg
    if msg is None:
        return "not a ProducerMessage"
    if msg.partition < 0:  # failed before a partition was known
        return f"topic {msg.topic}"
    return f"topic {msg.topic}, partition {msg.partition}"


def _cause(err: ProducerError) -> str:
    cause = err.err
    text = str(cause)
    if not text or text == "None":
        return type(cause).__name__
    return text
