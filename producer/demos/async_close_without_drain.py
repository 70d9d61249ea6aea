"""async_close() with nobody draining successes() and errors(): shutdown never finishes.

async_close() only starts the shutdown: it waits for every accepted message to come
back, and only then closes errors() and successes(). With return_successes on and
nobody reading, the result stage blocks on a full successes(), the messages behind it
never come back, so the shutdown waits forever: the channels never close and the
producer's goroutines (and kafka-python's threads) leak. The rule after async_close():
drain both channels until both are closed; one select over the two, turning each into
nilchan once it closes (Go's nil-channel idiom), does it. close() is async_close() plus
that drain, done for you: it discards the successes and raises ProducerErrors with the
errors, so unless you need each result, close() is the call you want.
"""

from __future__ import annotations

import time
from typing import Any

from gochan import Chan, goroutines, nilchan, select, verify_none
from producer import AsyncProducer, Config, ProducerMessage

from ._broker import on_fresh_topic

MESSAGES = 500  # fewer than the 1537 that would stall input() (see successes-not-read)
WAIT = 3.0  # how long part 1 waits for the channels to close
WARN_AFTER = 1.0


def drain_until_closed(p: AsyncProducer) -> tuple[int, int]:
    """Read successes() and errors() until both are closed. Returns (acked, failed)."""
    successes: Chan[Any] = p.successes()
    errors: Chan[Any] = p.errors()
    acked = failed = 0
    while successes is not nilchan or errors is not nilchan:
        case, (_, ok) = select(successes.recv_ok, errors.recv_ok)
        if not ok:  # closed: a nil channel is never ready, so select stops asking
            if case == 0:
                successes = nilchan
            else:
                errors = nilchan
            continue
        acked += case == 0
        failed += case == 1
    return acked, failed


def wait_closed(p: AsyncProducer, timeout: float) -> bool:
    """Whether successes() and errors() are both closed within ``timeout`` (reads nothing)."""
    deadline = time.monotonic() + timeout
    while not (p.successes().closed and p.errors().closed):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def send_all(p: AsyncProducer, topic: str) -> None:
    for i in range(MESSAGES):
        p.input().send(ProducerMessage(topic, value=b"message %d" % i))


def run() -> int:
    return on_fresh_topic("demo-async-close", WARN_AFTER, _lesson)


def _lesson(addrs: str, topic: str) -> int:
    config = Config()
    config.producer.return_successes = True
    baseline = goroutines()

    print(f"1. {MESSAGES} messages, async_close(), and nobody drains (stall warnings after "
          f"{WARN_AFTER:g}s):")
    p = AsyncProducer(addrs, config)
    send_all(p, topic)
    p.async_close()
    hung = not wait_closed(p, WAIT)
    running = [g.func_name for g in goroutines() if g not in baseline]
    print(f"   after {WAIT:g}s: successes() closed: {p.successes().closed}, errors() closed: "
          f"{p.errors().closed}, {len(p.successes())} successes unread, still running: "
          f"{', '.join(running)}")

    print("2. the same producer, drained until both channels close:")
    started = time.monotonic()
    acked, failed = drain_until_closed(p)
    print(f"   {acked} acknowledged, {failed} failed; both closed "
          f"{time.monotonic() - started:.2f}s later")
    verify_none(ignore=baseline)  # raises if a producer goroutine were still running
    print(f"   verify_none(): every producer goroutine has exited; producer closed: {p.closed}")

    print("3. close(): async_close() plus the drain, in one call:")
    p = AsyncProducer(addrs, config)
    send_all(p, topic)
    started = time.monotonic()
    p.close()  # discards successes(); raises ProducerErrors if any message failed
    print(f"   returned after {time.monotonic() - started:.2f}s: all {MESSAGES} acknowledged, "
          f"producer closed: {p.closed}")
    return 0 if hung and acked == MESSAGES and failed == 0 and p.closed else 1
