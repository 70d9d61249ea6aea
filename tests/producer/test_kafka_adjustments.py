"""The kafka-python 3.0 adjustments in ``producer._kafka``, checked without a broker.

The functional and reliability tests check their effect on a real cluster; these pin the
mechanism, so that a kafka-python upgrade that changes it fails here first.
"""

from __future__ import annotations

import pytest
from kafka.producer.transaction_manager import (
    ProducerIdAndEpoch,
    TransactionManager,
    TransactionState,
)

from producer._kafka import _reinitialise_after_reset


def ready_manager() -> TransactionManager:
    """An idempotent producer's manager that holds producer id 7 (state READY)."""
    manager = TransactionManager()
    manager.init_producer_id()
    manager._transition_to(TransactionState.READY)
    manager.set_producer_id_and_epoch(ProducerIdAndEpoch(7, 0))
    manager._pending_requests.clear()
    return manager


@pytest.mark.timeout(10)
def test_kafka_python_alone_never_asks_for_a_new_producer_id_after_a_reset() -> None:
    """The bug being worked around: if this starts failing, kafka-python fixed it."""
    manager = ready_manager()
    manager.reset_producer_id()
    manager.init_producer_id()
    assert not manager.has_producer_id()
    assert manager._current_state == TransactionState.READY
    assert manager._pending_requests == []  # nothing will ever fetch a new id


@pytest.mark.timeout(10)
def test_after_a_reset_the_manager_asks_for_a_new_producer_id() -> None:
    manager = ready_manager()
    _reinitialise_after_reset(manager)
    manager.reset_producer_id()
    assert not manager.has_producer_id()
    assert manager._current_state == TransactionState.UNINITIALIZED
    manager.init_producer_id()  # what the sender's run_once calls next
    assert manager._current_state == TransactionState.INITIALIZING
    assert len(manager._pending_requests) == 1


@pytest.mark.timeout(10)
def test_a_reset_while_an_id_request_is_under_way_leaves_it_alone() -> None:
    manager = TransactionManager()
    _reinitialise_after_reset(manager)
    manager.init_producer_id()
    manager.reset_producer_id()
    assert manager._current_state == TransactionState.INITIALIZING
    assert len(manager._pending_requests) == 1


@pytest.mark.timeout(10)
def test_transactional_managers_are_not_touched() -> None:
    manager = TransactionManager(transactional_id="tx")
    reset = manager.reset_producer_id
    _reinitialise_after_reset(manager)
    assert manager.reset_producer_id == reset
