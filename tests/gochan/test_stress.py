"""Stress tests: many goroutines, selects, closes and timeouts, counting every value.

The crossed-select test is the one that found the ABBA deadlock in other ports
(pygolang, goless#43, BurntSushi/chan#20); it runs a million select calls.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from typing import Any

import pytest
from gochan_helpers import JOIN_TIMEOUT, spawn, wait_blocked

from gochan import Chan, ClosedChannelError, WaitGroup, go, nilchan, select
from gochan._registry import blocked_snapshot

# -- select against select on crossed unbuffered channels --------------------------------

CROSSED_ITERATIONS = 500_000  # per thread: 1,000,000 select calls in all
STALL_SECONDS = 30.0


@pytest.mark.timeout(600)
def test_crossed_selects_never_stall() -> None:
    x: Chan[int] = Chan()
    y: Chan[int] = Chan()
    progress = [0, 0]
    stop = threading.Event()
    errors: list[str] = []

    def left() -> None:
        # select { case x <- i: ; case v := <-y: }
        try:
            for i in range(CROSSED_ITERATIONS):
                index, value = select((x.send, i), y.recv)
                # Both threads complete one select per rendezvous, so they run in
                # lockstep: what arrives on y is the other side's iteration number.
                if index == 1 and value != i and not stop.is_set():
                    errors.append(f"left {i}: got {value} on y")
                    return
                progress[0] = i + 1
        except ClosedChannelError:
            assert stop.is_set()

    def right() -> None:
        # select { case v := <-x: ; case y <- i: }
        try:
            for i in range(CROSSED_ITERATIONS):
                index, value = select(x.recv, (y.send, i))
                if index == 0 and value != i and not stop.is_set():
                    errors.append(f"right {i}: got {value} on x")
                    return
                progress[1] = i + 1
        except ClosedChannelError:
            assert stop.is_set()

    goroutines = [go(left), go(right)]
    last, last_change = (0, 0), time.monotonic()
    while any(g.is_alive() for g in goroutines):
        for g in goroutines:
            g.join(0.5)
        now = (progress[0], progress[1])
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            stuck = [(b.thread_name, b.op) for b in blocked_snapshot()]
            stop.set()
            x.close()  # unblock both so nothing leaks
            y.close()
            for g in goroutines:
                g.join(JOIN_TIMEOUT)
            pytest.fail(f"crossed selects stalled at {now}; blocked: {stuck}")
    x._check_invariants()
    y._check_invariants()
    assert not errors, errors
    assert progress == [CROSSED_ITERATIONS, CROSSED_ITERATIONS]


# -- many producers and consumers with select and close ----------------------------------


@pytest.mark.parametrize("caps", [(0, 0), (1, 4), (0, 2)], ids=lambda c: f"caps{c}")
@pytest.mark.timeout(120)
def test_producers_consumers_with_select_and_close(caps: tuple[int, int]) -> None:
    producers, consumers, per_producer = 4, 4, 4000
    a: Chan[tuple[int, int]] = Chan(caps[0])
    b: Chan[tuple[int, int]] = Chan(caps[1])
    wg = WaitGroup()
    got: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in range(consumers)]

    def produce(p: int) -> None:
        for seq in range(per_producer):
            value = (p, seq)
            if seq % 3 == 0:
                (a if seq % 2 else b).send(value)
            else:
                index, _ = select((a.send, value), (b.send, value))
                assert index in (0, 1)

    def consume(c: int) -> None:
        # Go's idiom: a closed channel's case is disabled by setting it to nil.
        ca: Chan[Any] = a
        cb: Chan[Any] = b
        while ca is not nilchan or cb is not nilchan:
            index, (value, ok) = select(
                ca.recv_ok, (nilchan.send, "never"), cb.recv_ok, nilchan.recv_ok
            )
            assert index in (0, 2), "a nil case was chosen"
            if not ok:
                if index == 0:
                    ca = nilchan
                else:
                    cb = nilchan
                continue
            got[c].append((index, value))

    for p in range(producers):
        wg.go(produce, p)
    readers = [spawn(consume, c) for c in range(consumers)]
    assert wg.wait(timeout=60), "producers stuck"
    a._check_invariants()  # consumers may be parked, under the lock that is a valid state
    b._check_invariants()
    a.close()
    b.close()
    for r in readers:
        r.result(60)
    a._check_invariants()
    b._check_invariants()

    everything = collections.Counter(v for mine in got for _, v in mine)
    assert everything == collections.Counter(
        (p, s) for p in range(producers) for s in range(per_producer)
    )
    # FIFO per channel per producer, as each consumer saw it.
    for mine in got:
        last: dict[tuple[int, int], int] = {}
        for index, (p, seq) in mine:
            assert last.get((index, p), -1) < seq
            last[(index, p)] = seq


# -- a timeout racing a hand-off never loses or duplicates the value ----------------------


@pytest.mark.timeout(120)
def test_timeouts_racing_handoffs_lose_nothing() -> None:
    senders, receivers, per_sender = 4, 4, 5000
    ch: Chan[tuple[int, int]] = Chan()
    other: Chan[tuple[int, int]] = Chan()  # a second way in, through select
    wg = WaitGroup()
    attempts = collections.Counter()
    received: list[list[tuple[int, int]]] = [[] for _ in range(receivers)]

    def send(s: int) -> None:
        rng = random.Random(s)
        for seq in range(per_sender):
            value = (s, seq)
            while True:  # retry the same value: a timed-out send must not have sent it
                attempts["send"] += 1
                try:
                    if seq % 2:
                        ch.send(value, timeout=rng.uniform(0, 0.0005))
                    else:
                        select((ch.send, value), (other.send, value), timeout=rng.uniform(0, 5e-4))
                except TimeoutError:
                    attempts["send timeout"] += 1
                    continue
                break

    def receive(r: int) -> None:
        rng = random.Random(100 + r)
        mine = received[r]
        while True:
            attempts["recv"] += 1
            try:
                if r % 2:
                    value, ok = ch.recv_ok(timeout=rng.uniform(0, 0.0005))
                else:
                    _, (value, ok) = select(ch.recv_ok, other.recv_ok, timeout=rng.uniform(0, 5e-4))
            except TimeoutError:
                attempts["recv timeout"] += 1
                continue
            if not ok:
                return
            mine.append(value)

    for s in range(senders):
        wg.go(send, s)
    readers = [spawn(receive, r) for r in range(receivers)]
    assert wg.wait(timeout=100), "senders stuck"
    ch._check_invariants()
    other._check_invariants()
    ch.close()
    other.close()
    for r in readers:
        r.result(60)
    ch._check_invariants()
    other._check_invariants()
    everything = collections.Counter(v for mine in received for v in mine)
    expected = collections.Counter((s, q) for s in range(senders) for q in range(per_sender))
    assert everything == expected
    # The race was real: both sides timed out plenty of times.
    assert attempts["send timeout"] > 0 and attempts["recv timeout"] > 0, attempts


# -- close while parked: senders, receivers and selects -----------------------------------


@pytest.mark.timeout(120)
def test_close_while_parked_repeatedly() -> None:
    for round_ in range(30):
        cap = round_ % 3
        ch: Chan[int] = Chan(cap)
        other: Chan[int] = Chan()
        for i in range(cap):
            ch.send(-1 - i)
        if round_ % 2:
            # A full channel: park senders and send-selects.
            parked = [spawn(ch.send, i) for i in range(3)]
            parked += [spawn(select, (ch.send, 10 + i), other.recv) for i in range(3)]
            wait_blocked(6, chan=ch)
            ch._check_invariants()
            other._check_invariants()
            ch.close()
            for p in parked:
                p.join()
                assert isinstance(p.error, ClosedChannelError), p.error
            # Only the buffered values remain; no parked value slipped in.
            assert list(ch) == [-1 - i for i in range(cap)]
        else:
            # An empty channel: park receivers and receive-selects.
            while len(ch):
                ch.recv()
            parked = [spawn(ch.recv_ok) for _ in range(3)]
            parked += [spawn(select, other.recv, ch.recv_ok) for _ in range(3)]
            wait_blocked(6, chan=ch)
            ch._check_invariants()
            other._check_invariants()
            ch.close()
            results = [p.result() for p in parked]
            assert results == [(None, False)] * 3 + [(1, (None, False))] * 3
        ch._check_invariants()
        other._check_invariants()
        # The selects' entries on the other channel were withdrawn.
        with pytest.raises(Exception, match="would block"):
            other.try_send(0)
