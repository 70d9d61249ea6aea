"""asyncio on gochan channels (``gochan/_aio.py``): tasks and threads on the same channels.

Waits are explicit: a thread is parked once ``wait_blocked`` sees it, a task once
``parked_tasks()`` lists it (both are queued on their channels by then). Each test
runs its own event loop with ``asyncio.run``; no pytest-asyncio needed.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
from gochan_helpers import JOIN_TIMEOUT, spawn, wait_blocked

import gochan
from gochan import Chan, ClosedChannelError, WouldBlock, default, nilchan, select, select_async
from gochan._aio import AsyncWaiter, parked_tasks

T = TypeVar("T")

needs_311 = pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is 3.11+")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` with a generous limit, so a lost wake-up fails instead of hanging."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, JOIN_TIMEOUT)

    return asyncio.run(bounded())


async def until(predicate: Callable[[], bool], turns: int = 1000) -> None:
    """Let the loop run (``sleep(0)``) until ``predicate`` holds."""
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not met")


def parked_on(ch: object, op: str | None = None) -> int:
    """How many task operations are parked on ``ch`` (optionally with state ``op``)."""
    return sum(
        1
        for w in parked_tasks()
        if (op is None or w.op == op) and any(obj is ch for _, obj in w.cases)
    )


async def wait_parked(ch: object, n: int = 1, op: str | None = None) -> None:
    await until(lambda: parked_on(ch, op) >= n)


def completes_without_suspending(awaitable: Awaitable[T]) -> T:
    """Drive a coroutine one step; it must finish in that step (the fast path never yields)."""
    coro: Any = awaitable
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("suspended")


@pytest.fixture(autouse=True)
def _no_parked_tasks() -> Any:
    yield
    assert parked_tasks() == []


# -- fast paths -------------------------------------------------------------------------


def test_ready_operations_do_not_suspend() -> None:
    ch: Chan[int] = Chan(2)
    assert completes_without_suspending(ch.send_async(1)) is None
    assert completes_without_suspending(ch.send_async(2)) is None
    assert completes_without_suspending(ch.recv_async()) == 1
    assert completes_without_suspending(ch.recv_ok_async()) == (2, True)
    ch.send(3)
    assert completes_without_suspending(select_async(ch.recv, default)) == (0, 3)
    assert completes_without_suspending(select_async(ch.recv, default)) == (1, None)
    ch.close()
    assert completes_without_suspending(ch.recv_async()) is None
    assert completes_without_suspending(ch.recv_ok_async()) == (None, False)
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        completes_without_suspending(ch.send_async(4))


def test_ready_operations_need_no_running_loop_until_they_park() -> None:
    ch: Chan[int] = Chan()
    with pytest.raises(RuntimeError, match="no running event loop"):
        completes_without_suspending(ch.recv_async())
    # The failed attempt left nothing queued behind.
    with pytest.raises(WouldBlock):
        ch.try_send(1)


# -- rendezvous between threads and tasks -------------------------------------------------


def test_thread_send_to_parked_task() -> None:
    ch: Chan[str] = Chan()

    async def main() -> str | None:
        receiving = asyncio.create_task(ch.recv_async())
        await wait_parked(ch, op="chan receive")
        sender = spawn(ch.send, "v")
        value = await receiving
        sender.result()
        return value

    assert run(main()) == "v"


def test_parked_thread_sender_returns_only_after_task_takes_value() -> None:
    ch: Chan[str] = Chan()
    returned = threading.Event()

    def send() -> None:
        ch.send("v")
        returned.set()

    sender = spawn(send)
    wait_blocked(1, op="chan send", chan=ch)
    assert not returned.is_set()

    async def main() -> str | None:
        return await ch.recv_async()

    assert run(main()) == "v"
    sender.result()
    assert returned.is_set()


def test_task_send_returns_only_after_thread_takes_value() -> None:
    ch: Chan[str] = Chan()

    async def main() -> None:
        sending = asyncio.create_task(ch.send_async("v"))
        await wait_parked(ch, op="chan send")
        await asyncio.sleep(0.01)
        assert not sending.done()  # no receiver yet: an unbuffered send waits
        receiver = spawn(ch.recv)
        await sending
        assert receiver.result() == "v"

    run(main())


def test_task_send_to_parked_thread_receiver() -> None:
    ch: Chan[str] = Chan()
    receiver = spawn(ch.recv_ok)
    wait_blocked(1, op="chan receive", chan=ch)

    async def main() -> None:
        await ch.send_async("v")  # a receiver is parked: completes at once

    run(main())
    assert receiver.result() == ("v", True)


def test_task_to_task_rendezvous_on_one_loop() -> None:
    ch: Chan[int] = Chan()

    async def main() -> list[int | None]:
        async def produce() -> None:
            for i in range(100):
                await ch.send_async(i)
            ch.close()

        producer = asyncio.create_task(produce())
        got = [v async for v in ch]
        await producer
        return got

    assert run(main()) == list(range(100))


def test_async_for_ends_when_closed_and_drained() -> None:
    ch: Chan[int] = Chan(5)

    def produce() -> None:
        for i in range(200):
            ch.send(i)
        ch.close()

    async def main() -> list[int]:
        producer = spawn(produce)
        got = [v async for v in ch]
        producer.result()
        return got

    assert run(main()) == list(range(200))


# -- close ------------------------------------------------------------------------------


@pytest.mark.parametrize("closer", ["thread", "task"])
def test_close_wakes_parked_tasks(closer: str) -> None:
    ch: Chan[int] = Chan()
    out: Chan[int] = Chan()

    async def main() -> None:
        recv = asyncio.create_task(ch.recv_async())
        recv_ok = asyncio.create_task(ch.recv_ok_async())
        sel = asyncio.create_task(select_async(ch.recv_ok, nilchan.recv))
        await wait_parked(ch, 3)
        send = asyncio.create_task(out.send_async(1))
        sel_send = asyncio.create_task(select_async((out.send, 2), nilchan.recv))
        await wait_parked(out, 2)
        if closer == "thread":
            spawn(ch.close).result()
            spawn(out.close).result()
        else:
            ch.close()
            out.close()
        assert await recv is None
        assert await recv_ok == (None, False)
        assert await sel == (0, (None, False))
        for task in (send, sel_send):
            with pytest.raises(ClosedChannelError, match="send on closed channel"):
                await task

    run(main())
    assert not ch._recvq and not out._sendq


# -- select -----------------------------------------------------------------------------


def test_select_async_rejects_bad_cases() -> None:
    ch: Chan[int] = Chan()

    async def main() -> None:
        with pytest.raises(TypeError, match="select case 0"):
            await select_async(ch.send)
        with pytest.raises(TypeError, match="select case 1"):
            await select_async(ch.recv, (ch.recv, 1))
        with pytest.raises(TypeError, match="multiple defaults"):
            await select_async(default, default)
        with pytest.raises(TypeError, match="select case 0"):
            await select_async(ch.recv_async)

    run(main())


def test_select_async_parks_then_one_thread_completes_it() -> None:
    a: Chan[str] = Chan()
    b: Chan[str] = Chan()
    c: Chan[str] = Chan()

    async def main() -> None:
        sel = asyncio.create_task(select_async(a.recv, b.recv_ok, (c.send, "x")))
        await wait_parked(a)
        receiver = spawn(c.recv)
        assert await sel == (2, None)
        assert receiver.result() == "x"
        # The losing entries were unlinked: nothing is left on a or b.
        assert not a._recvq and not b._recvq
        with pytest.raises(WouldBlock):
            a.try_send("late")

    run(main())


def test_select_async_and_thread_select_pair_on_crossed_channels() -> None:
    # Go's select-vs-select on crossed unbuffered channels, one side a task.
    x: Chan[int] = Chan()
    y: Chan[int] = Chan()
    n = 2000
    thread_got: list[int] = []

    def thread_side() -> None:
        for i in range(n):
            index, value = select((x.send, i), y.recv)
            if index == 1:
                thread_got.append(value)

    async def main() -> list[int]:
        got = []
        for i in range(n):
            index, value = await select_async(x.recv, (y.send, -i))
            if index == 0:
                got.append(value)
        return got

    peer = spawn(thread_side)
    task_got = run(main())
    peer.result()
    # Every round paired exactly once, one way or the other.
    assert len(task_got) + len(thread_got) == n
    assert all(v >= 0 for v in task_got) and all(v <= 0 for v in thread_got)
    assert len(set(task_got)) == len(task_got)


def test_select_async_chooses_randomly_among_ready_cases() -> None:
    a: Chan[int] = Chan(1000)
    b: Chan[int] = Chan(1000)
    for i in range(1000):
        a.send(i)
        b.send(i)

    async def main() -> Counter[int]:
        return Counter([(await select_async(a.recv, b.recv))[0] for _ in range(1000)])

    counts = run(main())
    assert counts[0] > 400 and counts[1] > 400


def test_select_async_mixes_thread_and_task_parties() -> None:
    # Threads feed two channels with blocking sends; a task selects over both plus
    # a send case to a thread receiver. Every value arrives exactly once.
    a: Chan[int] = Chan()
    b: Chan[int] = Chan(2)
    out: Chan[int] = Chan()
    n = 300
    feeders = [
        spawn(lambda: [a.send(i) for i in range(n)]),
        spawn(lambda: [b.send(n + i) for i in range(n)]),
    ]
    sink = spawn(lambda: [out.recv() for _ in range(n)])

    async def main() -> list[int]:
        got: list[int] = []
        sent = 0
        while len(got) < 2 * n or sent < n:
            cases: list[Any] = [a.recv, b.recv]
            if sent < n:
                cases.append((out.send, sent))
            index, value = await select_async(*cases)
            if index == 2:
                sent += 1
            else:
                got.append(value)
        return got

    got = run(main())
    for feeder in feeders:
        feeder.result()
    assert sorted(got) == list(range(2 * n))
    assert sink.result() == list(range(n))


# -- nil channel ------------------------------------------------------------------------


def test_nilchan_async_waits_until_cancelled() -> None:
    async def main() -> None:
        for make in (
            lambda: nilchan.recv_async(),
            lambda: nilchan.recv_ok_async(),
            lambda: nilchan.send_async(1),
            lambda: select_async(),
            lambda: select_async(nilchan.recv, (nilchan.send, 1)),
        ):
            task = asyncio.create_task(make())
            await until(lambda: len(parked_tasks()) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await select_async(nilchan.recv, default) == (1, None)
        ops = []
        task = asyncio.create_task(nilchan.recv_async())
        await until(lambda: len(parked_tasks()) == 1)
        ops.append(parked_tasks()[0].op)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ops == ["chan receive (nil chan)"]

    run(main())


# -- cancellation -----------------------------------------------------------------------


def test_cancelled_receive_takes_nothing() -> None:
    ch: Chan[int] = Chan()

    async def main() -> None:
        task = asyncio.create_task(ch.recv_async())
        await wait_parked(ch)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not ch._recvq
        with pytest.raises(WouldBlock):
            ch.try_send(1)

    run(main())


def test_cancelled_send_delivers_nothing() -> None:
    ch: Chan[int] = Chan(1)
    ch.send(0)

    async def main() -> None:
        task = asyncio.create_task(ch.send_async(1))
        await wait_parked(ch)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ch.recv() == 0
        with pytest.raises(WouldBlock):
            ch.try_recv()

    run(main())


def test_cancelled_select_runs_no_case() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()

    async def main() -> None:
        task = asyncio.create_task(select_async(a.recv, (b.send, 1)))
        await wait_parked(a)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not a._recvq and not b._sendq
        with pytest.raises(WouldBlock):
            b.try_recv()

    run(main())


def test_task_being_cancelled_takes_no_new_hand_off() -> None:
    # cancel() is requested first; a sender that comes before the task runs skips it.
    ch: Chan[int] = Chan()
    second: Chan[int] = Chan()

    async def main() -> None:
        first = asyncio.create_task(ch.recv_async())
        await wait_parked(ch)
        other = asyncio.create_task(second.recv_async())
        await wait_parked(second)
        first.cancel()
        with pytest.raises(WouldBlock):
            ch.try_send(1)  # the only receiver is being cancelled
        with pytest.raises(asyncio.CancelledError):
            await first
        spawn(second.close).result()
        assert await other is None

    run(main())


@needs_311
@pytest.mark.parametrize("op", ["recv", "select"])
def test_cancel_after_hand_off_returns_value_then_cancels_at_next_await(op: str) -> None:
    # trio's "cancellation arrived too late": the value is not lost, and a bare
    # cancel() still cancels the task, at its next suspension point.
    ch: Chan[int] = Chan()
    got: list[Any] = []

    async def receiver() -> None:
        if op == "recv":
            got.append(await ch.recv_async())
        else:
            got.append(await select_async(ch.recv, nilchan.recv))
        await asyncio.sleep(0)
        got.append("not cancelled")

    async def main() -> None:
        task = asyncio.create_task(receiver())
        await wait_parked(ch)
        ch.try_send(42)  # hands the value over; the task has not run yet
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert got == [42 if op == "recv" else (0, 42)]


@needs_311
def test_cancel_after_hand_off_to_sender_returns_normally() -> None:
    ch: Chan[int] = Chan()
    got: list[Any] = []

    async def sender() -> None:
        await ch.send_async(7)
        got.append("sent")
        await asyncio.sleep(0)
        got.append("not cancelled")

    async def main() -> None:
        task = asyncio.create_task(sender())
        await wait_parked(ch)
        assert ch.try_recv() == (7, True)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert got == ["sent"]


@needs_311
def test_withdrawn_cancellation_is_not_redelivered() -> None:
    # A scope that withdraws its request (uncancel) after the operation succeeded
    # sees no cancellation later.
    ch: Chan[int] = Chan()

    async def receiver() -> int | None:
        value = await ch.recv_async()
        current = asyncio.current_task()
        assert current is not None
        assert current.cancelling() == 1
        current.uncancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return value

    async def main() -> int | None:
        task = asyncio.create_task(receiver())
        await wait_parked(ch)
        ch.try_send(5)
        task.cancel()
        return await task

    assert run(main()) == 5


@needs_311
def test_timeout_expiring_after_hand_off_keeps_value_and_raises_nothing() -> None:
    ch: Chan[int] = Chan()
    scopes: list[Any] = []

    async def receiver() -> int | None:
        async with asyncio.timeout(None) as scope:  # type: ignore[attr-defined]
            scopes.append(scope)
            value = await ch.recv_async()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return value

    async def main() -> int | None:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(receiver())
        await wait_parked(ch)
        scopes[0].reschedule(loop.time())  # the timeout fires on the next turn...
        ch.try_send(5)  # ...but the value is handed over first
        return await task

    assert run(main()) == 5


def test_timeout_before_hand_off_receives_nothing() -> None:
    ch: Chan[int] = Chan()

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ch.recv_async(), 0.01)
        with pytest.raises(WouldBlock):
            ch.try_send(1)

    run(main())


def test_cancel_while_hand_off_is_in_flight_waits_for_it() -> None:
    # Another party has claimed the waiter but not yet woken it (it is between
    # claim() and wake() on another thread). Cancelling, even twice, cannot
    # withdraw; the task waits for the wake and returns the value.
    ch: Chan[int] = Chan()

    async def main() -> None:
        task = asyncio.create_task(ch.recv_async())
        await wait_parked(ch)
        (waiter,) = parked_tasks()
        assert isinstance(waiter, AsyncWaiter)
        with ch._lock:
            ch._recvq.clear()
        assert waiter.claim()
        task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()
        waiter.index, waiter.value, waiter.ok = 0, 99, True
        waker = threading.Thread(target=waiter.wake)
        waker.start()
        waker.join()
        assert await asyncio.shield(task) == 99

    run(main())


# -- many parties -----------------------------------------------------------------------


def test_tasks_and_threads_on_buffered_channel_preserve_multiset() -> None:
    ch: Chan[tuple[str, int]] = Chan(8)
    per_sender = 300
    thread_senders = 3
    task_senders = 6
    thread_receivers = 2
    task_receivers = 6
    received: list[tuple[str, int]] = []
    lock = threading.Lock()
    tasks_sent = threading.Event()

    def thread_send(k: int) -> None:
        for i in range(per_sender):
            ch.send((f"thread{k}", i))

    def thread_recv() -> None:
        mine = list(ch)
        with lock:
            received.extend(mine)

    async def task_side() -> None:
        async def send(k: int) -> None:
            for i in range(per_sender):
                await ch.send_async((f"task{k}", i))

        async def recv() -> None:
            async for item in ch:
                received.append(item)  # appends are atomic; the list is shared

        receivers = [asyncio.create_task(recv()) for _ in range(task_receivers)]
        await asyncio.gather(*(send(k) for k in range(task_senders)))
        tasks_sent.set()
        await asyncio.gather(*receivers)

    senders = [spawn(thread_send, k) for k in range(thread_senders)]
    receivers = [spawn(thread_recv) for _ in range(thread_receivers)]
    loop_thread = spawn(run, task_side())
    for s in senders:
        s.result()
    assert tasks_sent.wait(JOIN_TIMEOUT)
    ch.close()
    for r in receivers:
        r.result()
    loop_thread.result()
    expected = [(f"thread{k}", i) for k in range(thread_senders) for i in range(per_sender)]
    expected += [(f"task{k}", i) for k in range(task_senders) for i in range(per_sender)]
    assert Counter(received) == Counter(expected)


def test_two_event_loops_in_two_threads_share_a_channel() -> None:
    ch: Chan[int] = Chan()
    back: Chan[int] = Chan()
    n = 500
    loops: list[asyncio.AbstractEventLoop] = []

    async def producer() -> None:
        loops.append(asyncio.get_running_loop())
        for i in range(n):
            await ch.send_async(i)
            assert await back.recv_async() == i * 2  # a reply from the other loop
        ch.close()

    async def consumer() -> list[int]:
        loops.append(asyncio.get_running_loop())
        got = []
        async for v in ch:
            got.append(v)
            await back.send_async(v * 2)
        return got

    a = spawn(run, producer())
    b = spawn(run, consumer())
    a.result()
    assert b.result() == list(range(n))
    assert len(loops) == 2 and loops[0] is not loops[1]


def test_exports() -> None:
    assert gochan.select_async is select_async
    assert select_async.__module__ == "gochan"
    # mypyc keeps no function docstrings (CPython cannot add them later): the compiled
    # build documents select_async in its source only, as the pure build runs it.
    assert select_async.__doc__ or gochan.build_info()["build"] == "compiled"


def test_dropped_coroutine_withdraws_its_offer() -> None:
    # A parked operation whose coroutine is closed without being cancelled (its
    # loop was dropped) must not stay queued: a later sender would hand it a value.
    ch: Chan[int] = Chan()
    loop = asyncio.new_event_loop()

    async def park_and_leave() -> Any:
        coro = ch.recv_async()
        coro.send(None)  # runs up to the park: queued on ch, awaiting its future
        return coro

    try:
        coro = loop.run_until_complete(park_and_leave())
    finally:
        loop.close()
    assert len(ch._recvq) == 1
    coro.close()
    assert not ch._recvq
    with pytest.raises(WouldBlock):
        ch.try_send(1)


@pytest.mark.parametrize("waker", ["other thread", "loop's thread"])
def test_waking_a_task_whose_loop_is_closed_does_not_fail_the_waker(waker: str) -> None:
    # A task left pending on a loop that was closed (run_until_complete, then
    # close, without cancelling it): whoever hands it a value must not fail.
    ch: Chan[int] = Chan()
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(ch.recv_async())
        loop.run_until_complete(wait_parked(ch))
    finally:
        loop.close()
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # abandoned on purpose
    # Handed to the abandoned task (its wake-up cannot be scheduled); the sender is unaffected.
    if waker == "other thread":
        spawn(ch.send, 1).result()
    else:
        ch.try_send(1)
    task.get_coro().close()


def test_thread_waiting_for_a_sleeping_task_is_not_a_deadlock() -> None:
    # The loop thread idles in its selector while its task sleeps: that thread is
    # running as far as the deadlock detector is concerned, so the blocked
    # receive below waits (past the detector's checks) instead of raising Deadlock.
    ch: Chan[str] = Chan()

    async def late_sender() -> None:
        await asyncio.sleep(0.4)
        await ch.send_async("late")

    loop_thread = threading.Thread(target=run, args=(late_sender(),))
    loop_thread.start()
    try:
        assert ch.recv() == "late"
    finally:
        loop_thread.join(JOIN_TIMEOUT)
