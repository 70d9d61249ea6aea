"""Channels (``gochan/_chan.py``): one test per row of the spec's channel table, and more.

Waits are explicit: ``wait_blocked`` sees an operation only once it is queued on
its channel, so "X is parked" is a fact, not a guess made after a sleep.
"""

from __future__ import annotations

import threading

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import Chan, ClosedChannelError, GochanError, Panic, WouldBlock, nilchan

BOTH = pytest.mark.parametrize("cap", [0, 1, 3], ids=["unbuffered", "cap1", "cap3"])


def fill(ch: Chan[object]) -> None:
    for i in range(ch.cap):
        ch.send(f"fill{i}")


# -- make(chan T): rendezvous ----------------------------------------------------------


def test_unbuffered_send_blocks_until_receiver_takes_value() -> None:
    ch: Chan[str] = Chan()
    returned = threading.Event()

    def sender() -> None:
        ch.send("v")
        returned.set()

    s = spawn(sender)
    wait_blocked(1, op="chan send", chan=ch)
    assert not returned.is_set()
    assert len(ch) == 0
    assert ch.recv() == "v"
    s.result()
    assert returned.is_set()


def test_unbuffered_send_hands_value_to_parked_receiver() -> None:
    ch: Chan[str] = Chan()
    r = spawn(ch.recv)
    wait_blocked(1, op="chan receive", chan=ch)
    ch.send("v")
    assert r.result() == "v"
    assert len(ch) == 0


def test_unbuffered_send_is_a_rendezvous_every_time() -> None:
    # The sender's send(i) cannot return before i is taken: so, after it returns,
    # the receiver never reports a value older than i - 1 still missing.
    ch: Chan[int] = Chan()
    taken: list[int] = []
    n = 2000

    def receiver() -> None:
        for _ in range(n):
            taken.append(ch.recv())

    r = spawn(receiver)
    for i in range(n):
        ch.send(i)
        # Value i was taken (it is in the receiver's hands); i - 1 has been appended.
        assert len(taken) >= i
        with pytest.raises(WouldBlock):
            ch.try_recv()
    r.result()
    assert taken == list(range(n))


def test_unbuffered_try_send_without_receiver_would_block() -> None:
    ch: Chan[int] = Chan()
    with pytest.raises(WouldBlock):
        ch.try_send(1)
    with pytest.raises(WouldBlock):
        ch.try_recv()
    assert len(ch) == 0


def test_unbuffered_try_send_to_parked_receiver() -> None:
    ch: Chan[int] = Chan()
    r = spawn(ch.recv_ok)
    wait_blocked(1, op="chan receive", chan=ch)
    ch.try_send(7)
    assert r.result() == (7, True)


def test_try_recv_from_parked_sender() -> None:
    ch: Chan[int] = Chan()
    s = spawn(ch.send, 7)
    wait_blocked(1, op="chan send", chan=ch)
    assert ch.try_recv() == (7, True)
    s.result()


@BOTH
def test_send_timeout_transfers_nothing(cap: int) -> None:
    ch: Chan[str] = Chan(cap)
    fill(ch)
    with pytest.raises(TimeoutError):
        ch.send("late", timeout=0.02)
    with pytest.raises(TimeoutError):
        ch.send("late", timeout=0)
    got = [ch.recv() for _ in range(cap)]
    assert got == [f"fill{i}" for i in range(cap)]
    with pytest.raises(WouldBlock):
        ch.try_recv()


@BOTH
def test_recv_timeout_receives_nothing_and_loses_nothing(cap: int) -> None:
    ch: Chan[str] = Chan(cap)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.02)
    with pytest.raises(TimeoutError):
        ch.recv_ok(timeout=0)
    # The timed-out receiver left no entry behind to swallow the next value.
    s = spawn(ch.send, "v")
    assert ch.recv() == "v"
    s.result()


# -- make(chan T, n) -------------------------------------------------------------------


def test_buffered_is_fifo_and_blocks_when_full() -> None:
    ch: Chan[int] = Chan(3)
    for i in range(3):
        ch.send(i)  # never blocks: there is room
    assert len(ch) == 3
    with pytest.raises(WouldBlock):
        ch.try_send(3)
    s = spawn(ch.send, 3)
    wait_blocked(1, op="chan send", chan=ch)
    assert ch.recv() == 0
    s.result()  # the parked sender's value moved into the freed slot
    assert len(ch) == 3
    assert [ch.recv() for _ in range(3)] == [1, 2, 3]


def test_buffered_send_does_not_wait_for_receiver() -> None:
    ch: Chan[int] = Chan(1)
    ch.send(1, timeout=0)
    assert len(ch) == 1
    assert ch.recv() == 1


@pytest.mark.parametrize("cap", [-1, -100])
def test_negative_capacity_raises_value_error(cap: int) -> None:
    with pytest.raises(ValueError):
        Chan(cap)


def test_capacity_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        Chan(1.5)  # type: ignore[arg-type]


@BOTH
def test_parked_senders_are_served_fifo(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    for i in range(cap):
        ch.send(-1 - i)
    senders = []
    for i in range(4):
        senders.append(spawn(ch.send, i))
        wait_blocked(i + 1, op="chan send", chan=ch)
    got = [ch.recv() for _ in range(cap + 4)]
    assert got == [-1 - i for i in range(cap)] + [0, 1, 2, 3]
    for s in senders:
        s.result()


@BOTH
def test_parked_receivers_are_served_fifo(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    receivers = []
    for i in range(4):
        receivers.append(spawn(ch.recv))
        wait_blocked(i + 1, op="chan receive", chan=ch)
    for i in range(4):
        ch.send(i)
    assert [r.result() for r in receivers] == [0, 1, 2, 3]


# -- ch <- v ---------------------------------------------------------------------------


@BOTH
def test_send_on_closed_channel_raises(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    ch.close()
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        ch.send(1)
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        ch.try_send(1)
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        ch.send(1, timeout=0)
    assert ch.recv_ok() == (None, False)


def test_closed_channel_error_is_a_panic() -> None:
    assert issubclass(ClosedChannelError, Panic)
    assert issubclass(Panic, GochanError)


@BOTH
def test_send_blocks_while_full_or_no_receiver(cap: int) -> None:
    ch: Chan[str] = Chan(cap)
    fill(ch)
    s = spawn(ch.send, "last")
    wait_blocked(1, op="chan send", chan=ch)
    assert not s.done
    got = [ch.recv() for _ in range(cap + 1)]
    s.result()
    assert got[-1] == "last"


# -- v := <-ch -------------------------------------------------------------------------


@BOTH
def test_recv_blocks_until_a_value(cap: int) -> None:
    ch: Chan[str] = Chan(cap)
    r = spawn(ch.recv)
    wait_blocked(1, op="chan receive", chan=ch)
    assert not r.done
    ch.send("v")
    assert r.result() == "v"


@BOTH
def test_recv_on_closed_drained_channel_returns_none_at_once(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    for i in range(cap):
        ch.send(i)
    ch.close()
    assert len(ch) == cap
    assert [ch.recv() for _ in range(cap)] == list(range(cap))
    for _ in range(3):
        assert ch.recv() is None
        assert ch.recv(timeout=0) is None
        assert ch.recv_ok() == (None, False)
        assert ch.try_recv() == (None, False)


# -- v, ok := <-ch ---------------------------------------------------------------------


@BOTH
def test_recv_ok_is_false_only_when_closed_and_drained(cap: int) -> None:
    ch: Chan[object] = Chan(cap)
    s = spawn(ch.send, None) if cap == 0 else None
    if s is None:
        ch.send(None)
    assert ch.recv_ok() == (None, True)  # a None that was sent is a value
    if s is not None:
        s.result()
    if cap:
        ch.send("a")
    ch.close()
    if cap:
        assert ch.recv_ok() == ("a", True)
    assert ch.recv_ok() == (None, False)


# -- close(ch) -------------------------------------------------------------------------


@BOTH
def test_close_wakes_every_blocked_receiver(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    receivers = [spawn(ch.recv), spawn(ch.recv_ok), spawn(ch.recv), spawn(ch.recv_ok)]
    wait_blocked(4, op="chan receive", chan=ch)
    ch.close()
    assert [r.result() for r in receivers] == [None, (None, False), None, (None, False)]


@BOTH
def test_close_wakes_every_blocked_sender(cap: int) -> None:
    ch: Chan[str] = Chan(cap)
    fill(ch)
    senders = [spawn(ch.send, f"s{i}") for i in range(3)]
    wait_blocked(3, op="chan send", chan=ch)
    ch.close()
    for s in senders:
        s.join()
        assert isinstance(s.error, ClosedChannelError)
        assert "send on closed channel" in str(s.error)
    # The buffered values survive the close; the parked senders' values were not sent.
    assert list(ch) == [f"fill{i}" for i in range(cap)]


@BOTH
def test_close_of_closed_channel_raises(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    ch.close()
    with pytest.raises(ClosedChannelError, match="close of closed channel"):
        ch.close()
    assert ch.closed


def test_closed_property() -> None:
    ch: Chan[int] = Chan(1)
    assert not ch.closed
    ch.send(1)
    ch.close()
    assert ch.closed
    assert ch.recv() == 1


def test_close_does_not_drop_buffered_values() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    ch.send(2)
    ch.close()
    assert ch.recv_ok() == (1, True)
    assert ch.recv_ok() == (2, True)
    assert ch.recv_ok() == (None, False)


# -- len(ch), cap(ch) ------------------------------------------------------------------


def test_len_and_cap() -> None:
    ch: Chan[int] = Chan(4)
    assert (len(ch), ch.cap) == (0, 4)
    ch.send(1)
    ch.send(2)
    assert (len(ch), ch.cap) == (2, 4)
    ch.recv()
    assert len(ch) == 1
    u: Chan[int] = Chan()
    assert (len(u), u.cap) == (0, 0)
    assert Chan().cap == 0
    assert bool(u)  # an empty channel is still a channel


# -- for v := range ch -----------------------------------------------------------------


@BOTH
def test_iteration_ends_when_closed_and_drained(cap: int) -> None:
    ch: Chan[int] = Chan(cap)

    def producer() -> None:
        for i in range(100):
            ch.send(i)
        ch.close()

    p = spawn(producer)
    assert list(ch) == list(range(100))
    p.result()
    assert list(ch) == []


# -- var ch chan T (nil) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "op"),
    [
        (lambda: nilchan.send(1, timeout=0.3), "chan send (nil chan)"),
        (lambda: nilchan.recv(timeout=0.3), "chan receive (nil chan)"),
        (lambda: nilchan.recv_ok(timeout=0.3), "chan receive (nil chan)"),
    ],
    ids=["send", "recv", "recv_ok"],
)
def test_nilchan_blocks_forever(call: object, op: str) -> None:
    s = spawn(call)  # type: ignore[arg-type]
    wait_blocked(1, op=op)
    assert not s.done
    s.join()
    assert isinstance(s.error, TimeoutError)


def test_nilchan_try_operations_would_block() -> None:
    with pytest.raises(WouldBlock):
        nilchan.try_send(1)
    with pytest.raises(WouldBlock):
        nilchan.try_recv()
    assert (len(nilchan), nilchan.cap) == (0, 0)


def test_close_of_nil_channel_raises() -> None:
    with pytest.raises(Panic, match="close of nil channel"):
        nilchan.close()
    with pytest.raises(Panic, match="close of nil channel"):
        nilchan.close()  # still nil, still a panic


# -- the registry sees parked channel operations -------------------------------------------


def test_blocked_operations_are_registered_while_parked() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    r = spawn(a.recv)
    first = wait_blocked(1, op="chan receive", chan=a)
    s = spawn(b.send, 1)
    wait_blocked(1, op="chan send", chan=b)
    assert first[0].cases == (("recv", a),)
    a.send(0)
    b.recv()
    r.result()
    s.result()
    from gochan._registry import blocked_snapshot

    assert not [x for x in blocked_snapshot() if x.cases and x.cases[0][1] in (a, b)]


def test_repr_names_state_and_site() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    text = repr(ch)
    assert "cap=2" in text and "len=1" in text and "open" in text
    assert "test_chan.py" in text
    ch.close()
    assert "closed" in repr(ch)


# -- the producer's internal burst send ------------------------------------------------------

@pytest.mark.timeout(10)
def test_try_send_many_fills_the_buffer_in_order_and_stops_when_full() -> None:
    ch: Chan[int] = Chan(3)
    ch.send(0)
    assert ch._try_send_many([1, 2, 3, 4, 5], 0) == 2
    assert ch._try_send_many([1, 2, 3, 4, 5], 2) == 0  # full: nothing, no blocking
    assert [ch.recv() for _ in range(3)] == [0, 1, 2]
    assert ch._try_send_many([9, 8], 1) == 1
    assert ch.recv() == 8


@pytest.mark.timeout(10)
def test_try_send_many_serves_parked_receivers_first() -> None:
    ch: Chan[int] = Chan(1)
    receivers = [spawn(ch.recv) for _ in range(2)]
    wait_blocked(2, chan=ch)
    assert ch._try_send_many([1, 2, 3, 4], 0) == 3  # two handed over, one buffered
    assert sorted(r.result() for r in receivers) == [1, 2]
    assert ch.recv() == 3


@pytest.mark.timeout(10)
def test_try_send_many_on_a_closed_channel_raises() -> None:
    ch: Chan[int] = Chan(4)
    ch.close()
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        ch._try_send_many([1], 0)
