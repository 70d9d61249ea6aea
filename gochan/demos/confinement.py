"""Confinement: data owned by one goroutine needs no lock; shared data does.

squares() owns its channel: it makes it, is the only goroutine that sends on it and
closes it, and hands out only its receiving side (typed Receiver, so mypy rejects a
send). Nothing else can touch the data, so there is nothing to lock. Shared state is
the opposite: `counter += 1` is read, add, write, and another thread can run in
between, so two increments that read the same value lose one. A lock around the
read-modify-write fixes it; so does confinement again: each worker counts on its own
and sends its total to the one goroutine that adds them up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from gochan import Chan, WaitGroup, go

T_co = TypeVar("T_co", covariant=True)

WORKERS, INCREMENTS = 4, 500


class Receiver(Protocol[T_co]):
    """The receiving side of a channel (Go's `<-chan T`): no send, no close."""

    def recv(self, timeout: float | None = None) -> T_co | None: ...

    def __iter__(self) -> Iterator[T_co]: ...


def squares(n: int) -> Receiver[int]:
    """Lexical confinement: the channel exists only in here and in the goroutine."""
    results: Chan[int] = Chan(n)

    def owner() -> None:
        for i in range(n):
            results.send(i * i)
        results.close()

    go(owner)
    return results


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()  # guards value (only `locked` takes it)


def unlocked(c: Counter) -> None:
    for _ in range(INCREMENTS):
        value = c.value
        time.sleep(0)  # any call here lets another thread run (Python may switch anywhere)
        c.value = value + 1


def locked(c: Counter) -> None:
    for _ in range(INCREMENTS):
        with c.lock:
            value = c.value
            time.sleep(0)
            c.value = value + 1


def shared(increment: Callable[[Counter], None]) -> int:
    """WORKERS goroutines run `increment` on one shared Counter."""
    c = Counter()
    wg = WaitGroup()
    for _ in range(WORKERS):
        wg.go(increment, c)
    wg.wait()
    return c.value


def confined() -> int:
    """Each worker owns its count; only the totals travel, over a channel."""
    totals: Chan[int] = Chan(WORKERS)

    def count() -> None:
        mine = 0
        for _ in range(INCREMENTS):
            mine += 1
            time.sleep(0)
        totals.send(mine)

    wg = WaitGroup()
    for _ in range(WORKERS):
        wg.go(count)
    wg.wait()
    totals.close()
    return sum(totals)


def run() -> int:
    got = list(squares(5))
    print(f"squares(5), read from a receive-only channel: {got}")
    want = WORKERS * INCREMENTS
    results = {"shared, no lock": shared(unlocked), "shared, with a lock": shared(locked),
               "confined, totals over a channel": confined()}
    for how, total in results.items():
        lost = f"{want - total} lost" if total != want else "none lost"
        print(f"  {how + ':':<33} {total} of {want} increments ({lost})")
    ok = got == [0, 1, 4, 9, 16] and results["shared, with a lock"] == want == \
        results["confined, totals over a channel"]
    return 0 if ok else 1
