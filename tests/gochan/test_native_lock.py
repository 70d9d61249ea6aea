"""The compiled build's C lock (``gochan/_native/_lock.c``) keeps ``threading.Lock``'s contract.

Every test runs on ``threading.Lock`` too, so the tests themselves are checked against
the reference. The C lock's tests skip (saying why) where the compiled build was not
installed, and fail where CI expects the compiled build (``GOCHAN_EXPECT_BUILD=compiled``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import gochan
from gochan import Chan


def _native_lock() -> Callable[[], Any]:
    try:
        from gochan._native._lock import Lock
    except ImportError as exc:
        if os.environ.get("GOCHAN_EXPECT_BUILD") == "compiled":
            pytest.fail(f"the compiled build's lock is not installed: {exc}")
        pytest.skip(f"the compiled build is not installed here ({exc})")
    return Lock


@pytest.fixture(params=["threading", "native"])
def new_lock(request: pytest.FixtureRequest) -> Callable[[], Any]:
    if request.param == "threading":
        return threading.Lock
    return _native_lock()


def test_the_compiled_build_uses_it_for_channels_and_waiters() -> None:
    lock_type = type(Chan()._lock)
    if gochan.build_info()["build"] == "compiled":
        assert lock_type is _native_lock()
        assert type(gochan._waiter.Waiter()._park) is lock_type
    else:
        assert lock_type is type(threading.Lock())


def test_acquire_release_and_errors(new_lock: Callable[[], Any]) -> None:
    lock = new_lock()
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0) is False
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    with pytest.raises(ValueError):
        lock.acquire(False, 1.0)
    with pytest.raises(ValueError):
        lock.acquire(True, -2.0)
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_timeout(new_lock: Callable[[], Any]) -> None:
    lock = new_lock()
    lock.acquire()
    start = time.monotonic()
    assert lock.acquire(True, 0.05) is False
    assert time.monotonic() - start >= 0.049
    lock.release()
    assert lock.acquire(True, 0.05) is True


def test_another_thread_releases_a_sleeper(new_lock: Callable[[], Any]) -> None:
    # A waiter's park lock: held from birth, released by the thread that wakes it.
    for _ in range(200):
        park = new_lock()
        park.acquire()
        woke = threading.Event()

        def sleeper(park: Any = park, woke: threading.Event = woke) -> None:
            park.acquire()
            woke.set()

        thread = threading.Thread(target=sleeper)
        thread.start()
        time.sleep(0.0002)
        park.release()
        assert woke.wait(10), "the sleeper was not woken"
        thread.join()


def test_a_woken_thread_runs_while_its_waker_keeps_the_gil(new_lock: Callable[[], Any]) -> None:
    # The C lock's spinner, once it has the lock, waits for the releaser to drop the
    # GIL; that wait must be bounded: a releaser that goes on running Python (never
    # dropping the GIL by itself) must not keep the woken thread out until it stops.
    # (The interpreter hands the GIL over only to a thread that asks for it.) Released
    # right after the sleeper starts waiting, so that its spin catches the release.
    for _ in range(20):
        park = new_lock()
        park.acquire()
        waiting = threading.Event()
        ran: list[float] = []

        def sleeper(park: Any = park, waiting: threading.Event = waiting,
                    ran: list[float] = ran) -> None:
            waiting.set()
            park.acquire()  # gives the GIL back to the main thread: it is waiting for it
            ran.append(time.monotonic())

        thread = threading.Thread(target=sleeper)
        thread.start()
        waiting.wait()
        start = time.monotonic()
        park.release()
        deadline = start + 1.0
        while not ran and time.monotonic() < deadline:
            pass  # pure Python: keeps the GIL unless another thread requests it
        thread.join()
        assert ran[0] - start < 0.5, "the woken thread waited for its waker to stop"


def test_mutual_exclusion_under_contention(new_lock: Callable[[], Any]) -> None:
    # Read, sleep (the others run), write: without mutual exclusion updates are lost.
    lock = new_lock()
    counter = [0]
    per_thread, threads = 200, 6

    def work() -> None:
        for i in range(per_thread):
            with lock:
                value = counter[0]
                if i % 4 == 0:
                    time.sleep(0.0001)
                counter[0] = value + 1
            if lock.acquire(False):
                counter[0] += 1
                lock.release()
            else:
                with lock:
                    counter[0] += 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert counter[0] == 2 * per_thread * threads
    assert not lock.locked()


def test_timeouts_under_contention_leave_it_working(new_lock: Callable[[], Any]) -> None:
    # Sleepers that give up must not swallow the wake-up meant for another sleeper.
    lock = new_lock()
    got = []

    def try_briefly() -> None:
        for _ in range(20):
            if lock.acquire(True, 0.001):
                got.append(1)
                time.sleep(0.0005)
                lock.release()

    workers = [threading.Thread(target=try_briefly) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert got
    lock.acquire()
    waiter_got = threading.Event()
    thread = threading.Thread(target=lambda: (lock.acquire(), waiter_got.set(), lock.release()))
    thread.start()
    time.sleep(0.01)
    lock.release()
    assert waiter_got.wait(10)
    thread.join()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_a_signal_handler_raising_interrupts_a_blocked_acquire(
    new_lock: Callable[[], Any],
) -> None:
    # Ctrl-C while parked: KeyboardInterrupt from acquire(), and the lock still works.
    lock = new_lock()
    lock.acquire()
    previous = signal.signal(signal.SIGUSR1, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
        timer.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert lock.locked()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (lock.acquire(), done.set()))
    thread.start()
    time.sleep(0.01)
    lock.release()
    assert done.wait(10)
    thread.join()
    lock.release()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_spin_descheduled_by_a_busy_cpu_turns_spinning_off_for_a_while() -> None:
    # On an oversubscribed CPU a sched_yield() gives the CPU away for a scheduler slice
    # (milliseconds), which made spinning hand-offs 10-30x slower than sleeping ones.
    # Pin this thread and a busy process to one CPU, so that the spin's yields lose
    # slices: the lock must notice (an overrun) and stop spinning for a cooldown.
    _native_lock()  # skips, or fails where CI expects the compiled build
    from gochan._native import _lock as lock_module

    cpu = min(os.sched_getaffinity(0))
    busy = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"]
    )
    mask = os.sched_getaffinity(0)
    try:
        time.sleep(0.2)  # the busy process is pinned and running
        os.sched_setaffinity(0, {cpu})  # this thread only (Linux: pid 0 = the caller)
        before = lock_module._spin_state()["overruns"]
        seen, state = False, {}
        for _ in range(100):  # 2 s: longer than the longest cooldown of an earlier overrun
            lock = lock_module.Lock()
            lock.acquire()
            timer = threading.Timer(0.02, lock.release)
            timer.start()
            lock.acquire()  # spins (yielding to the busy process), then sleeps
            timer.join()
            state = lock_module._spin_state()
            if state["overruns"] > before:
                seen = True
                break
        assert seen, f"no spin overran its bound on a CPU shared with a busy loop: {state}"
        assert state["quiet_for_ns"] > 0, state
        assert state["budget_ns"] == 1000, state
    finally:
        os.sched_setaffinity(0, mask)
        busy.kill()
        busy.wait()
