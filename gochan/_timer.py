"""Go's ``time`` package channels: ``after``, ``tick``, ``Timer``, ``Ticker``, ``after_func``.

All timers share one scheduler thread holding a heap of deadlines; it sleeps on a
condition until the earliest one (no polling) and exits after a short idle spell.
Timer channels have a buffer of one and the scheduler never blocks on them: a slow
reader drops ticks, as in Go. Following Go 1.23, ``stop`` and ``reset`` guarantee
that no stale value is received afterwards, and report ``True`` when the timer had
not yet been received from. Fired values are ``time.time()`` floats, Go's ``time.Now()``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from ._chan import Chan, nilchan
from ._errors import Panic

__all__ = ["Ticker", "Timer", "after", "after_func", "pending_timers", "tick"]

_IDLE_EXIT = 0.5  # seconds the scheduler thread lingers with no timer before exiting


class _Scheduler:
    """The single timer thread and its heap.

    ``_cond`` guards the heap, ``_thread``, ``active`` and every timer's ``_active``
    and ``_gen``; a timer's channel is written only while it is held, so ``stop``
    and a firing cannot interleave. Heap entries whose ``gen`` is outdated are stale
    (the timer was stopped or reset) and skipped.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, int, _TimerBase]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self.active = 0  # timers that will still fire: a program with one is not deadlocked

    def arm(self, timer: _TimerBase, delay: float) -> None:
        """Requires: self._cond held."""
        when = time.monotonic() + max(delay, 0.0)
        timer._when = when
        if not timer._active:
            timer._active = True
            self.active += 1
        heapq.heappush(self._heap, (when, next(self._seq), timer._gen, timer))
        if self._heap[0][3] is timer:
            self._cond.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gochan-timers", daemon=True)
            self._thread.start()

    def disarm(self, timer: _TimerBase) -> bool:
        """Requires: self._cond held. Returns whether the timer was armed."""
        timer._gen += 1
        if timer._active:
            timer._active = False
            self.active -= 1
            return True
        return False

    def _run(self) -> None:
        heap = self._heap
        with self._cond:
            while True:
                if not heap:
                    self._cond.wait(_IDLE_EXIT)
                    if not heap:
                        self._thread = None
                        return
                    continue
                when, _, gen, timer = heap[0]
                if gen != timer._gen:
                    heapq.heappop(heap)
                    continue
                now = time.monotonic()
                if when > now:
                    self._cond.wait(when - now)
                    continue
                heapq.heappop(heap)
                timer._fire(now)


_scheduler = _Scheduler()


def pending_timers() -> int:
    """How many timers, tickers and ``after_func`` calls are still due to fire."""
    return _scheduler.active


def _offer(chan: Chan[float], value: float) -> None:
    """Send without blocking; drop the value if the buffer is full (a slow reader)."""
    with chan._lock:
        if not chan._closed:
            chan._send_locked(value)


def _drain(chan: Chan[float]) -> bool:
    with chan._lock:
        if chan._buf:
            chan._buf.clear()
            return True
    return False


def _check_duration(d: float, what: str) -> float:
    if isinstance(d, bool) or not isinstance(d, int | float):
        raise TypeError(f"{what}: duration must be seconds as a number, not {type(d).__name__}")
    return float(d)


class _TimerBase:
    _active = False
    _gen = 0
    _when = 0.0

    def _fire(self, now: float) -> None:
        raise NotImplementedError


class Timer(_TimerBase):
    """Go's ``time.Timer``: ``c`` receives the fire time once, after ``d`` seconds."""

    def __init__(self, d: float) -> None:
        self._func: Callable[[], Any] | None = None
        self.c: Chan[float] = Chan(1)
        with _scheduler._cond:
            _scheduler.arm(self, _check_duration(d, "Timer"))

    def _fire(self, now: float) -> None:
        _scheduler.disarm(self)
        if self._func is not None:
            from ._goroutine import go

            go(self._func)
        else:
            _offer(self.c, time.time())

    def stop(self) -> bool:
        """Stop the timer. ``True`` if that prevented a value from being received (Go 1.23).

        After ``stop`` returns, no value from before it is received from ``c``.
        """
        with _scheduler._cond:
            was_armed = _scheduler.disarm(self)
            return _drain(self.c) or was_armed

    def reset(self, d: float) -> bool:
        """Re-arm the timer to fire after ``d`` seconds; returns what ``stop`` would have."""
        d = _check_duration(d, "Timer.reset")
        with _scheduler._cond:
            was_armed = _scheduler.disarm(self)
            stale = _drain(self.c)
            _scheduler.arm(self, d)
            return stale or was_armed

    def __repr__(self) -> str:
        state = "armed" if self._active else "stopped"
        return f"<Timer {state}>"


def after_func(d: float, func: Callable[[], Any]) -> Timer:
    """Go's ``time.AfterFunc``: run ``func`` in its own goroutine after ``d`` seconds.

    Returns the :class:`Timer`; its ``stop()`` cancels ``func`` if it has not started.
    Its ``c`` is :data:`nilchan`, as Go's is nil.
    """
    if not callable(func):
        raise TypeError(f"after_func() needs a callable, not {type(func).__name__}")
    timer = Timer.__new__(Timer)
    timer._func = func
    timer.c = nilchan
    with _scheduler._cond:
        _scheduler.arm(timer, _check_duration(d, "after_func"))
    return timer


def after(d: float) -> Chan[float]:
    """Go's ``time.After``: a channel that receives the fire time once, after ``d`` seconds."""
    return Timer(d).c


class Ticker(_TimerBase):
    """Go's ``time.Ticker``: ``c`` receives the time every ``d`` seconds until ``stop``.

    A slow reader drops ticks (the channel buffers one), as in Go.
    """

    def __init__(self, d: float) -> None:
        d = _check_duration(d, "Ticker")
        if d <= 0:
            raise Panic("non-positive interval for NewTicker")
        self._period = d
        self.c: Chan[float] = Chan(1)
        with _scheduler._cond:
            _scheduler.arm(self, d)

    def _fire(self, now: float) -> None:
        _offer(self.c, time.time())
        # Skip the periods a slow scheduler missed rather than firing a burst.
        period = self._period
        when = self._when + period
        if when <= now:
            when += period * (1 + int((now - when) // period))
        self._when = when
        heapq.heappush(_scheduler._heap, (when, next(_scheduler._seq), self._gen, self))

    def stop(self) -> None:
        """Stop the ticker; no tick from before the call is received afterwards."""
        with _scheduler._cond:
            _scheduler.disarm(self)
            _drain(self.c)

    def reset(self, d: float) -> None:
        """Stop the ticker and restart it with period ``d``."""
        d = _check_duration(d, "Ticker.reset")
        if d <= 0:
            raise Panic("non-positive interval for Ticker.Reset")
        with _scheduler._cond:
            _scheduler.disarm(self)
            _drain(self.c)
            self._period = d
            _scheduler.arm(self, d)

    def __repr__(self) -> str:
        state = "running" if self._active else "stopped"
        return f"<Ticker every {self._period}s {state}>"


def tick(d: float) -> Chan[float]:
    """Go's ``time.Tick``: a ticker's channel; :data:`nilchan` when ``d <= 0``, as in Go."""
    if _check_duration(d, "tick") <= 0:
        return nilchan
    return Ticker(d).c
