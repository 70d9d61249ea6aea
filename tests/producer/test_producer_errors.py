"""The producer's errors (``producer/_errors.py``)."""

from __future__ import annotations

import pytest

from producer import BrokerError, ProducerError, ProducerErrors, ProducerMessage


def failure(topic: str, partition: int, cause: BaseException) -> ProducerError:
    msg = ProducerMessage(topic, value=b"v")
    msg.partition = partition
    return ProducerError(msg, cause)


def test_producer_errors_str_shows_the_first_failures_and_how_many_more() -> None:
    """Issue 14, item 4: an uncaught ProducerErrors says why, not only how many."""
    errors = [failure("orders", 3, BrokerError("kafka server: Message was too large")),
              failure("orders", -1, TypeError("message value must be bytes, not int")),
              failure("audit", 0, BrokerError("")),  # a cause without text: its type
              failure("orders", 1, BrokerError("4th")),
              failure("orders", 2, BrokerError("5th"))]
    assert str(ProducerErrors(errors)) == (
        "kafka: Failed to deliver 5 messages.\n"
        "  topic orders, partition 3: kafka server: Message was too large\n"
        "  topic orders: message value must be bytes, not int\n"
        "  topic audit, partition 0: BrokerError\n"
        "  ... and 2 more")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_up_to_three_failures_are_all_listed(n: int) -> None:
    errors = [failure("t", i, BrokerError(f"e{i}")) for i in range(n)]
    lines = str(ProducerErrors(errors)).splitlines()
    assert lines == [f"kafka: Failed to deliver {n} messages.",
                     *(f"  topic t, partition {i}: e{i}" for i in range(n))]


def test_producer_errors_keeps_saramas_line_as_its_argument() -> None:
    errors = ProducerErrors([ProducerError(None, ValueError("not a message"))])
    assert errors.args == ("kafka: Failed to deliver 1 messages.",)
    assert str(errors).splitlines()[1] == "  not a ProducerMessage: not a message"
