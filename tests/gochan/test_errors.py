"""The exception tree (``gochan/_errors.py``)."""

from __future__ import annotations

import pytest

from gochan import (
    Canceled,
    ClosedChannelError,
    DeadlineExceeded,
    Deadlock,
    GochanError,
    Panic,
    WouldBlock,
)


def test_exception_tree() -> None:
    assert issubclass(Panic, GochanError)
    assert issubclass(ClosedChannelError, Panic)
    assert issubclass(WouldBlock, GochanError)
    assert issubclass(Deadlock, GochanError)
    assert issubclass(GochanError, Exception)


def test_context_error_texts() -> None:
    assert str(Canceled()) == "context canceled"
    assert str(DeadlineExceeded()) == "context deadline exceeded"


def test_context_errors_compare_equal_to_their_class() -> None:
    assert Canceled() == Canceled
    assert DeadlineExceeded() == DeadlineExceeded
    assert Canceled() != DeadlineExceeded
    assert DeadlineExceeded() != Canceled
    assert Canceled() == Canceled()
    assert Canceled() != DeadlineExceeded()
    assert hash(Canceled()) == hash(Canceled())


def test_context_errors_can_be_raised_and_caught() -> None:
    with pytest.raises(Canceled, match="context canceled"):
        raise Canceled()
    with pytest.raises(DeadlineExceeded, match="context deadline exceeded"):
        raise DeadlineExceeded()
