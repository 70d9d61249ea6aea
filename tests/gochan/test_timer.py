"""Timers (``gochan/_timer.py``): ``after``, ``tick``, ``Timer``, ``Ticker``, ``after_func``.

Time assertions use wide bounds (the machine is small and noisy): a timer must not
fire early, and must fire within a couple of seconds of its due time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from gochan_helpers import spawn, wait_blocked, wait_until

import gochan
from gochan import Chan, Panic, Ticker, Timer, WouldBlock, after, after_func, nilchan, select, tick
from gochan import _timer as timer_module

D = 0.05  # a short duration
LATE = 2.0  # how late a timer may fire on a loaded machine
EARLY = 0.005  # clock granularity slack


@pytest.fixture(autouse=True)
def _no_timer_left_pending() -> Iterator[None]:
    # Pending timers tell the deadlock detector the program is alive: never leak one.
    yield
    wait_until(lambda: timer_module.pending_timers() == 0, timeout=LATE)


def _stop_timer_of(ch: Chan[float]) -> None:
    """after() and tick() hand out no timer to stop; find it so it does not stay pending."""
    with timer_module._scheduler._cond:
        timers = [entry[3] for entry in timer_module._scheduler._heap if entry[3].c is ch]
    for timer in timers:
        timer.stop()


# -- time.After ------------------------------------------------------------------------


def test_after_receives_fire_time_once_after_duration() -> None:
    start_wall = time.time()
    start = time.monotonic()
    ch = after(D)
    assert isinstance(ch, Chan)
    value = ch.recv()
    elapsed = time.monotonic() - start
    assert D - EARLY <= elapsed < D + LATE
    assert isinstance(value, float)
    assert start_wall + D - EARLY <= value <= time.time()
    with pytest.raises(TimeoutError):
        ch.recv(timeout=3 * D)  # one value only


def test_after_does_not_fire_early() -> None:
    ch = after(30.0)
    try:
        with pytest.raises(WouldBlock):
            ch.try_recv()
        assert select(ch.recv, gochan.default) == (1, None)
    finally:
        _stop_timer_of(ch)


def test_after_as_a_select_timeout() -> None:
    never: Chan[int] = Chan()
    index, value = select(never.recv, after(D).recv)
    assert index == 1 and isinstance(value, float)


def test_after_zero_or_negative_fires_at_once() -> None:
    assert isinstance(after(0).recv(timeout=LATE), float)
    assert isinstance(after(-1).recv(timeout=LATE), float)


def test_duration_must_be_a_number() -> None:
    with pytest.raises(TypeError):
        after("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Timer(None)  # type: ignore[arg-type]


# -- time.Tick / time.NewTicker --------------------------------------------------------


def test_tick_delivers_repeatedly() -> None:
    start = time.monotonic()
    ch = tick(D)
    try:
        values = [ch.recv() for _ in range(3)]
    finally:
        _stop_timer_of(ch)
    assert time.monotonic() - start >= 3 * D - EARLY
    assert values == sorted(values)
    assert all(isinstance(v, float) for v in values)


@pytest.mark.parametrize("d", [0, -1.0])
def test_tick_non_positive_returns_nilchan(d: float) -> None:
    assert tick(d) is nilchan


def test_ticker_delivers_until_stopped() -> None:
    t = Ticker(D)
    values = [t.c.recv() for _ in range(3)]
    assert values == sorted(values) and values[0] < values[-1]
    t.stop()
    with pytest.raises(TimeoutError):
        t.c.recv(timeout=4 * D)  # no tick after stop, not even a stale one


def test_ticker_slow_reader_drops_ticks() -> None:
    t = Ticker(D)
    try:
        assert t.c.cap == 1
        wait_until(lambda: len(t.c) == 1)
        time.sleep(6 * D)  # several periods go by with nobody reading
        assert len(t.c) == 1  # the buffer holds one tick
        first = t.c.recv()
        read_at = time.time()
        # The missed ticks were dropped, not queued: the next one is a fresh tick.
        second = t.c.recv(timeout=LATE)
        assert second - first >= 5 * D
        assert second >= read_at - EARLY
    finally:
        t.stop()


def test_ticker_reset_changes_period() -> None:
    t = Ticker(10.0)
    try:
        t.reset(D)
        start = time.monotonic()
        t.c.recv(timeout=LATE)
        t.c.recv(timeout=LATE)
        assert time.monotonic() - start >= 2 * D - EARLY
    finally:
        t.stop()


@pytest.mark.parametrize("d", [0, -0.5])
def test_ticker_non_positive_interval_panics(d: float) -> None:
    with pytest.raises(Panic, match="non-positive interval for NewTicker"):
        Ticker(d)
    t = Ticker(1.0)
    try:
        with pytest.raises(Panic, match="non-positive interval"):
            t.reset(d)
    finally:
        t.stop()


# -- time.NewTimer ---------------------------------------------------------------------


def test_timer_fires_once() -> None:
    t = Timer(D)
    assert isinstance(t.c.recv(timeout=LATE), float)
    with pytest.raises(TimeoutError):
        t.c.recv(timeout=3 * D)


def test_timer_stop_before_fire_returns_true_and_nothing_arrives() -> None:
    t = Timer(D)
    assert t.stop() is True
    with pytest.raises(TimeoutError):
        t.c.recv(timeout=3 * D)
    assert t.stop() is False  # already stopped


def test_timer_stop_after_receive_returns_false() -> None:
    t = Timer(0)
    t.c.recv(timeout=LATE)
    assert t.stop() is False


def test_timer_stop_after_fire_but_before_receive_leaves_no_stale_value() -> None:
    # Go 1.23: the timer was not received from, so stop() reports True and no stale
    # value can be received afterwards.
    t = Timer(0)
    wait_until(lambda: len(t.c) == 1)
    assert t.stop() is True
    with pytest.raises(WouldBlock):
        t.c.try_recv()


def test_timer_reset_active_returns_true_and_refires_later() -> None:
    t = Timer(10.0)
    start = time.monotonic()
    assert t.reset(D) is True
    t.c.recv(timeout=LATE)
    assert D - EARLY <= time.monotonic() - start < D + LATE


def test_timer_reset_expired_returns_false_and_fires_again() -> None:
    t = Timer(0)
    t.c.recv(timeout=LATE)
    assert t.reset(D) is False
    assert isinstance(t.c.recv(timeout=LATE), float)


def test_timer_reset_drops_stale_value() -> None:
    t = Timer(0)
    wait_until(lambda: len(t.c) == 1)
    old = t.c._buf[0]
    assert t.reset(D) is True
    new = t.c.recv(timeout=LATE)
    assert new > old
    with pytest.raises(TimeoutError):
        t.c.recv(timeout=3 * D)


def test_timer_wakes_parked_receiver() -> None:
    t = Timer(D)
    r = spawn(t.c.recv)
    wait_blocked(1, op="chan receive", chan=t.c)
    assert isinstance(r.result(), float)


# -- time.AfterFunc --------------------------------------------------------------------


def test_after_func_runs_in_its_own_goroutine() -> None:
    ran: Chan[tuple[int, bool]] = Chan(1)

    def f() -> None:
        me = threading.get_ident()
        ran.send((me, any(g.thread.ident == me for g in gochan.goroutines())))

    start = time.monotonic()
    t = after_func(D, f)
    assert isinstance(t, Timer)
    ident, is_goroutine = ran.recv(timeout=LATE)
    assert time.monotonic() - start >= D - EARLY
    assert ident != threading.get_ident()
    assert is_goroutine
    assert t.stop() is False  # already ran


def test_after_func_stop_cancels_function() -> None:
    ran: list[int] = []
    t = after_func(0.5, lambda: ran.append(1))
    assert t.stop() is True
    time.sleep(0.7)  # the only way to see that something does not happen
    assert ran == []


def test_after_func_channel_is_nil() -> None:
    t = after_func(10.0, lambda: None)
    try:
        assert t.c is nilchan
    finally:
        t.stop()


def test_after_func_rejects_non_callable() -> None:
    with pytest.raises(TypeError):
        after_func(1.0, 42)  # type: ignore[arg-type]


def test_pending_timers_counts_armed_timers() -> None:
    before = timer_module.pending_timers()
    t = Timer(10.0)
    f = after_func(10.0, lambda: None)
    assert timer_module.pending_timers() == before + 2
    t.stop()
    f.stop()
    assert timer_module.pending_timers() == before


def test_after_func_reset_runs_function_again() -> None:
    ran: Chan[int] = Chan(2)
    t = after_func(0, lambda: ran.send(1))
    assert ran.recv(timeout=LATE) == 1
    assert t.reset(D) is False  # it had already fired
    assert ran.recv(timeout=LATE) == 1
    assert t.stop() is False


def test_after_func_reset_before_fire_postpones() -> None:
    ran: list[float] = []
    t = after_func(10.0, lambda: ran.append(time.monotonic()))
    start = time.monotonic()
    assert t.reset(D) is True
    wait_until(lambda: bool(ran), timeout=LATE)
    assert ran[0] - start >= D - EARLY
    assert len(ran) == 1
