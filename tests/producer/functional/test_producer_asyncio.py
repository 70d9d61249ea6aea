"""The producers from asyncio, against a real broker (issue 14, item 7): the event loop
never blocks, and cancelled tasks lose no message's accounting."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from typing import Any

import pytest
from producer_helpers import config, consume

from gochan import select_async
from producer import AsyncProducer, ProducerError, ProducerMessage, SyncProducer
from producer.testing import KafkaCluster

# A blocking call on the loop (a bootstrap, a close, a wait for an acknowledgement, a
# send on a full input()) takes 100s of ms. A callback of ours takes microseconds, but on
# a loaded 2-core machine the OS or another thread holding the GIL (its switch interval
# is 5 ms) can delay any callback by some ms: hence the margin.
MAX_CALLBACK = 0.05


class LagMonitor:
    """Measures the event loop: the wall time of every callback it runs (the time the
    loop was blocked by one call), and how late a task sleeping 1 ms wakes up (which
    also counts the other tasks' turns)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lags: list[float] = []
        self.callbacks: list[float] = []
        self._task: asyncio.Task[None] | None = None
        run = asyncio.events.Handle._run
        durations = self.callbacks

        def timed(handle: asyncio.Handle) -> None:
            start = time.perf_counter()
            try:
                run(handle)
            finally:
                durations.append(time.perf_counter() - start)

        monkeypatch.setattr(asyncio.events.Handle, "_run", timed)

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(time.perf_counter() - start - 0.001)

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def summary(self) -> str:
        def q(values: list[float], f: float) -> float:
            ordered = sorted(values)
            return ordered[int(f * (len(ordered) - 1))] * 1000

        return (f"{len(self.callbacks)} callbacks, longest {max(self.callbacks) * 1000:.1f} ms "
                f"(p99 {q(self.callbacks, 0.99):.2f} ms); 1 ms sleep late by p50 "
                f"{q(self.lags, 0.5):.1f} ms, p99 {q(self.lags, 0.99):.1f} ms, max "
                f"{max(self.lags) * 1000:.1f} ms")


@pytest.mark.timeout(180)
def test_the_loop_never_blocks_while_tasks_produce_10000_messages(
        kafka_cluster: KafkaCluster, new_topic: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = new_topic(partitions=4)
    bootstrap = kafka_cluster.bootstrap_servers
    per_sync, per_async = 5000, 5000

    async def main() -> tuple[LagMonitor, list[tuple[int, int]], list[ProducerMessage]]:
        with LagMonitor(monkeypatch) as monitor:
            await asyncio.sleep(0.05)  # the monitor is running
            async with SyncProducer.open_async(bootstrap) as sync, \
                    AsyncProducer.open_async(bootstrap, config(successes=True)) as p:

                async def sync_sender(n: int) -> list[tuple[int, int]]:
                    placed = []
                    for i in range(40):
                        msg = ProducerMessage(topic, key=b"%d" % n, value=b"s%d-%d" % (n, i))
                        placed.append(await sync.send_message_async(msg))
                    batch = [ProducerMessage(topic, value=b"b%d-%d" % (n, i)) for i in range(10)]
                    await sync.send_messages_async(batch)
                    return placed + [(m.partition, m.offset) for m in batch]

                async def async_sender() -> None:
                    for i in range(per_async):
                        await p.input().send_async(ProducerMessage(topic, value=b"a%d" % i))

                async def reader() -> list[ProducerMessage]:
                    got: list[ProducerMessage] = []
                    while len(got) < per_async:
                        index, value = await select_async(p.successes().recv, p.errors().recv)
                        assert index == 0, value  # no errors
                        got.append(value)
                    return got

                results = await asyncio.gather(
                    *(sync_sender(n) for n in range(per_sync // 50)), async_sender(), reader())
            placed = [pair for r in results[:-2] for pair in r]
            await asyncio.sleep(0.05)
        return monitor, placed, results[-1]

    gc.collect()
    gc.freeze()  # what earlier tests left is not scanned by a full collection meanwhile
    try:
        monitor, placed, got = asyncio.run(main())
    finally:
        gc.unfreeze()
    assert len(placed) == per_sync and len(set(placed)) == per_sync  # each acknowledged once
    assert len(got) == per_async and len({m.value for m in got}) == per_async
    print(monitor.summary())  # the figures, with -s
    assert len(monitor.lags) > 100 and len(monitor.callbacks) > 5000
    worst = max(monitor.callbacks)
    assert worst < MAX_CALLBACK, f"a call blocked the event loop: {monitor.summary()}"
    records = consume(bootstrap, topic, 4, per_sync + per_async)
    assert len(records) == per_sync + per_async


@pytest.mark.timeout(180)
def test_cancelled_send_message_async_tasks_lose_no_accounting(
        kafka_cluster: KafkaCluster, new_topic: Any) -> None:
    """Tasks cancelled at random points: those cancelled before the producer took the
    message withdrew it; the others still end exactly once (on their reply), the
    message objects are released, and close() does not hang."""
    topic = new_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    rng = random.Random(14)
    msgs = [ProducerMessage(topic, value=b"m%d" % i) for i in range(400)]

    async def main() -> tuple[set[bytes], set[bytes]]:
        done: set[bytes] = set()
        cancelled: set[bytes] = set()
        async with SyncProducer.open_async(bootstrap, config(successes=True, cbs=4)) as p:
            tasks = {asyncio.ensure_future(p.send_message_async(m)): m for m in msgs}
            for task in list(tasks)[::2]:
                await asyncio.sleep(rng.choice([0, 0, 0.0005, 0.002]))
                task.cancel()
            for task, m in tasks.items():
                try:
                    await task
                    done.add(bytes(m.value))
                except asyncio.CancelledError:
                    cancelled.add(bytes(m.value))
        return done, cancelled

    done, cancelled = asyncio.run(main())
    assert done | cancelled == {m.value for m in msgs} and not done & cancelled
    assert cancelled  # some were
    assert all(m._owner is None and m._reply is None for m in msgs)  # all released
    values = [r.value for r in consume(bootstrap, topic, 2, len(done))]
    assert len(values) == len(set(values))  # none twice
    assert done <= set(values)  # every acknowledged one is there
    assert set(values) <= done | cancelled


@pytest.mark.timeout(180)
def test_cancelled_receives_lose_no_result(kafka_cluster: KafkaCluster,
                                           new_topic: Any) -> None:
    """A reader whose recv_async is cancelled again and again (timeouts): every message
    still ends on successes() or errors() exactly once."""
    topic = new_topic(partitions=2)
    n = 3000

    async def main() -> tuple[list[ProducerMessage], list[ProducerError]]:
        successes: list[ProducerMessage] = []
        errors: list[ProducerError] = []
        c = config(successes=True, cbs=8, max_message_bytes=200)
        async with AsyncProducer.open_async(kafka_cluster.bootstrap_servers, c) as p:

            async def send() -> None:
                for i in range(n):
                    value = b"x" * 300 if i % 100 == 7 else b"%d" % i  # 1% fail at once
                    await p.input().send_async(ProducerMessage(topic, value=value, metadata=i))

            async def read() -> None:
                while len(successes) + len(errors) < n:
                    try:
                        index, value = await asyncio.wait_for(
                            select_async(p.successes().recv, p.errors().recv), timeout=0.0005)
                    except TimeoutError:
                        continue  # the receive was cancelled: nothing was taken
                    (successes if index == 0 else errors).append(value)

            await asyncio.gather(send(), read())
        return successes, errors

    successes, errors = asyncio.run(main())
    seen = sorted([m.metadata for m in successes] + [e.msg.metadata for e in errors])
    assert seen == list(range(n))  # each exactly once
    assert sorted(e.msg.metadata for e in errors) == list(range(7, n, 100))
