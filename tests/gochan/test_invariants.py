"""``Chan._check_invariants``: it passes on real states and fails on corrupted ones.

The property and stress tests rely on it; these tests show that it can fail, by
corrupting a channel's state by hand (fake parked waiters, an overfull buffer).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import Chan, select
from gochan._waiter import Entry, Waiter


def park_fake(ch: Chan[Any], kind: str, waiter: Waiter | None = None) -> Waiter:
    """Queue an entry as a parked receiver (``recv``) or sender (``send``) would."""
    waiter = waiter or Waiter()
    queue = ch._recvq if kind == "recv" else ch._sendq
    queue.append(Entry(waiter, 0, "v", ch._lock, queue))
    return waiter


def broken(ch: Chan[Any], message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        ch._check_invariants()


def test_real_states_pass() -> None:
    ch: Chan[int] = Chan(2)
    ch._check_invariants()
    ch.send(1)
    ch.send(2)
    ch._check_invariants()
    sender = spawn(ch.send, 3)
    wait_blocked(chan=ch)
    ch._check_invariants()  # a parked sender with the buffer full
    assert ch.recv() == 1
    sender.join()
    ch._check_invariants()
    ch.close()
    ch._check_invariants()


def test_one_select_parked_on_both_queues_passes() -> None:
    # Go parks such a select on both queues of the unbuffered channel: not a broken state.
    ch: Chan[int] = Chan()
    chooser = spawn(select, ch.recv, (ch.send, 7))
    wait_blocked(chan=ch)
    assert ch._recvq and ch._sendq
    ch._check_invariants()
    ch.close()
    chooser.join()
    ch._check_invariants()


def test_stale_entries_are_ignored() -> None:
    ch: Chan[int] = Chan(1)
    ch.send(1)
    waiter = park_fake(ch, "recv")
    broken(ch, "1 receivers parked with 1 values buffered")
    assert waiter.claim()  # now stale: whoever pops it skips it
    ch._check_invariants()


def test_overfull_buffer_fails() -> None:
    ch: Chan[int] = Chan(1)
    ch._buf.extend([1, 2])
    broken(ch, "2 values buffered, over the capacity 1")


def test_receiver_parked_beside_values_fails() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    park_fake(ch, "recv")
    broken(ch, "receivers parked with 1 values buffered")


def test_sender_parked_with_room_fails() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    park_fake(ch, "send")
    broken(ch, "senders parked while the buffer has room")


def test_receiver_and_other_sender_both_parked_fails() -> None:
    ch: Chan[int] = Chan()
    park_fake(ch, "recv")
    park_fake(ch, "send")
    broken(ch, "a receiver and a different sender both parked")


def test_closed_with_parked_waiters_fails() -> None:
    ch: Chan[int] = Chan()
    ch.close()
    park_fake(ch, "recv")
    broken(ch, "closed with 1 receivers and 0 senders still queued")


def test_entry_of_another_queue_fails() -> None:
    ch: Chan[int] = Chan()
    other: Chan[int] = Chan()
    ch._recvq.append(Entry(Waiter(), 0, None, other._lock, other._recvq))
    broken(ch, "an entry in recvq names another queue")


def test_live_entry_missing_from_its_waiter_fails() -> None:
    ch: Chan[int] = Chan()
    waiter = park_fake(ch, "recv")
    waiter.entries.clear()
    broken(ch, "a live entry in recvq is not in its waiter's entries")
