"""Cancellation of asyncio channel operations never loses or duplicates a value.

A property test (hypothesis) drives one event loop through random interleavings of
sends, receives and selects run as tasks, synchronous ``try_*`` calls, closes and
cancellations landing at every point (before parking, while parked, after a
hand-off but before the task ran), then counts every value. A stress test does
the same with threads taking part and cancellations arriving on timers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from gochan_helpers import JOIN_TIMEOUT, spawn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gochan import Chan, ClosedChannelError, WouldBlock, select_async
from gochan._aio import parked_tasks

N_CHANS = 2

_chan_index = st.integers(0, N_CHANS - 1)
_action = st.one_of(
    st.tuples(st.just("send"), _chan_index),
    st.tuples(st.just("recv"), _chan_index),
    st.tuples(st.just("select"), _chan_index, _chan_index),
    st.tuples(st.just("try_send"), _chan_index),
    st.tuples(st.just("try_recv"), _chan_index),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("yield"), st.integers(1, 3)),
    st.tuples(st.just("yield"), st.integers(1, 3)),
    st.tuples(st.just("close"), _chan_index),
)


class Ledger:
    """Everything that happened to every value, per channel."""

    def __init__(self) -> None:
        self.next_value = 0
        self.sent: list[Counter[int]] = [Counter() for _ in range(N_CHANS)]
        self.received: list[Counter[int]] = [Counter() for _ in range(N_CHANS)]
        self.not_sent: list[Counter[int]] = [Counter() for _ in range(N_CHANS)]

    def value(self) -> int:
        self.next_value += 1
        return self.next_value

    def check(self, chans: list[Chan[int]]) -> None:
        for i, ch in enumerate(chans):
            # Drain what is still buffered.
            while True:
                try:
                    value, ok = ch.try_recv()
                except WouldBlock:
                    break
                if not ok:
                    break
                self.received[i][value] += 1
            assert self.received[i] == self.sent[i], f"chan {i}"
            assert not (set(self.not_sent[i]) & set(self.received[i])), f"chan {i}"
            assert not ch._recvq and not ch._sendq


async def scenario(caps: list[int], actions: list[tuple[Any, ...]]) -> None:
    chans: list[Chan[int]] = [Chan(cap) for cap in caps]
    ledger = Ledger()
    tasks: list[asyncio.Task[None]] = []

    # Each task records its outcome with no await after it, so a cancellation
    # re-delivered at "the next suspension point" cannot hide a result.
    async def send(i: int, value: int) -> None:
        try:
            await chans[i].send_async(value)
        except (asyncio.CancelledError, ClosedChannelError):
            ledger.not_sent[i][value] += 1
            raise
        ledger.sent[i][value] += 1

    async def recv(i: int) -> None:
        value, ok = await chans[i].recv_ok_async()
        if ok:
            ledger.received[i][value] += 1

    async def select(s: int, r: int, value: int) -> None:
        try:
            index, got = await select_async((chans[s].send, value), chans[r].recv_ok)
        except (asyncio.CancelledError, ClosedChannelError):
            ledger.not_sent[s][value] += 1
            raise
        if index == 0:
            ledger.sent[s][value] += 1
        else:
            ledger.not_sent[s][value] += 1
            if got[1]:
                ledger.received[r][got[0]] += 1

    for action in actions:
        kind = action[0]
        if kind == "send":
            tasks.append(asyncio.create_task(send(action[1], ledger.value())))
        elif kind == "recv":
            tasks.append(asyncio.create_task(recv(action[1])))
        elif kind == "select":
            tasks.append(asyncio.create_task(select(action[1], action[2], ledger.value())))
        elif kind == "try_send":
            value = ledger.value()
            try:
                chans[action[1]].try_send(value)
            except (WouldBlock, ClosedChannelError):
                ledger.not_sent[action[1]][value] += 1
            else:
                ledger.sent[action[1]][value] += 1
        elif kind == "try_recv":
            try:
                value, ok = chans[action[1]].try_recv()
            except WouldBlock:
                pass
            else:
                if ok:
                    ledger.received[action[1]][value] += 1
        elif kind == "cancel":
            if tasks:
                tasks[action[1] % len(tasks)].cancel()
        elif kind == "yield":
            for _ in range(action[1]):
                await asyncio.sleep(0)
        elif kind == "close" and not chans[action[1]].closed:
            chans[action[1]].close()

    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert parked_tasks() == []
    ledger.check(chans)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    caps=st.lists(st.sampled_from([0, 0, 1, 2]), min_size=N_CHANS, max_size=N_CHANS),
    actions=st.lists(_action, min_size=10, max_size=80),
)
def test_random_interleavings_with_cancellation_lose_nothing(
    caps: list[int], actions: list[tuple[Any, ...]]
) -> None:
    asyncio.run(scenario(caps, actions))


def test_threads_and_tasks_with_random_cancellation_lose_nothing() -> None:
    # Threads send and receive with blocking calls; tasks do one operation each
    # and are cancelled on random timers. Count every value at the end.
    rng = random.Random(1234)
    ch: Chan[int] = Chan(2)
    thread_values = list(range(1, 2001))
    thread_got: list[int] = []
    task_sent: list[int] = []
    task_got: list[int] = []
    task_not_sent: list[int] = []

    def thread_send(values: list[int]) -> None:
        for v in values:
            ch.send(v)

    def thread_recv() -> None:
        for v in ch:
            thread_got.append(v)

    async def task_send(v: int) -> None:
        try:
            await ch.send_async(v)
        except (asyncio.CancelledError, ClosedChannelError):
            task_not_sent.append(v)
            raise
        task_sent.append(v)

    async def task_recv() -> None:
        value, ok = await ch.recv_ok_async()
        if ok:
            task_got.append(value)  # type: ignore[arg-type]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []
        for i in range(2000):
            coro = task_send(-1 - i) if rng.random() < 0.5 else task_recv()
            task = asyncio.create_task(coro)
            tasks.append(task)
            if rng.random() < 0.5:
                loop.call_later(rng.random() * 0.002, task.cancel)
            if rng.random() < 0.3:
                await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    senders = [spawn(thread_send, thread_values[k::2]) for k in range(2)]
    receiver = spawn(thread_recv)
    asyncio.run(asyncio.wait_for(main(), JOIN_TIMEOUT))
    for s in senders:
        s.result()
    ch.close()
    receiver.result()
    assert parked_tasks() == []
    assert Counter(thread_got + task_got) == Counter(thread_values + task_sent)
    assert not set(task_not_sent) & set(thread_got + task_got)


def test_timeouts_racing_hand_offs_from_a_thread_lose_nothing() -> None:
    # A thread sends on an unbuffered channel (each send returns only once a
    # receiver has taken the value); the task receives under very short timeouts,
    # so timeouts keep firing around hand-offs. Every value sent must arrive, and
    # a timeout that lost the race must not cancel the task later.
    ch: Chan[int] = Chan()
    n = 400
    def send_all() -> None:
        rng = random.Random(7)
        for i in range(n):
            time.sleep(rng.random() * 0.0002)  # land the sends around the deadlines
            ch.send(i)

    sender = spawn(send_all)

    async def main() -> list[int]:
        got: list[int] = []
        while len(got) < n:
            try:
                if len(got) % 2 and hasattr(asyncio, "timeout"):
                    async with asyncio.timeout(0.0001):
                        value = await ch.recv_async()
                else:
                    value = await asyncio.wait_for(ch.recv_async(), 0.0001)
            except asyncio.TimeoutError:
                continue
            assert value is not None
            got.append(value)
            await asyncio.sleep(0)  # a re-delivered cancellation would surface here
        return got

    got = asyncio.run(asyncio.wait_for(main(), JOIN_TIMEOUT))
    sender.result()
    assert got == list(range(n))
    assert parked_tasks() == []
