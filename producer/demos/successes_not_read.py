"""return_successes=True and nobody reads successes(): the producer stalls after 1537 messages.

With return_successes on, every acknowledged message comes back on successes(). The
seed's loop sends and polls errors() only, so successes() fills up (cbs messages, cbs
= channel_buffer_size = 256), the result stage blocks sending one more, the window of
messages handed to Kafka fills (4*cbs), the dispatcher blocks holding one, and input()
fills (cbs): input().send() then blocks after exactly 2*cbs + 4*max(cbs, 1) + 1 = 1537
messages, with memory flat. sarama stalls the same way (the seed's "hangs at message
608": its count depends on batching). It is not a deadlock, since other threads still
run, but gochan's stall warning names each blocked operation, the send included. Fix:
read successes() (the same select that sends, or a goroutine), or turn them off.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from gochan import default, select
from gochan.demos import Progress
from producer import AsyncProducer, Config, ProducerMessage

from ._broker import on_fresh_topic

MESSAGES = 2000
WARN_AFTER = 1.0  # gochan.set_stall_warning(1.0): the default is 5 s
GIVE_UP = 2.5  # the seed's send blocks forever; ours gives up after this many seconds


def seed_loop(p: AsyncProducer, msgs: list[ProducerMessage], progress: Progress) -> int:
    """The seed's loop: send, and poll errors() without blocking. Returns how many went in."""
    for sent, msg in enumerate(msgs):
        try:
            p.input().send(msg, timeout=GIVE_UP)
        except TimeoutError:
            return sent
        progress.update(sent + 1)
        case, err = select(p.errors().recv, default)  # successes() is never read
        if case == 0:
            progress.write(f"failed: {err}")
    return len(msgs)


def select_loop(p: AsyncProducer, msgs: list[ProducerMessage], in_flight: int,
                progress: Progress) -> tuple[int, int]:
    """The fix: one select sends and receives both results. Returns (acked, failed)."""
    pending, acked, failed = deque(msgs), 0, 0
    while pending or in_flight:
        cases: list[Any] = [p.successes().recv, p.errors().recv]
        if pending:
            cases.append((p.input().send, pending[0]))
        case, _ = select(*cases)
        if case == 2:
            pending.popleft()
            in_flight += 1
            continue
        in_flight -= 1
        acked += case == 0
        failed += case == 1
        progress.update(acked + failed)
    return acked, failed


def run() -> int:
    return on_fresh_topic("demo-successes", WARN_AFTER, _lesson)


def _lesson(addrs: str, topic: str) -> int:
    msgs = [ProducerMessage(topic, value=b"message %d" % i) for i in range(MESSAGES)]
    config = Config()
    config.producer.return_successes = True
    cbs = config.channel_buffer_size
    expected = 2 * cbs + 4 * max(cbs, 1) + 1

    print(f"1. the seed's loop, return_successes=True, successes() never read "
          f"(stall warnings after {WARN_AFTER:g}s):")
    p = AsyncProducer(addrs, config)
    try:
        progress = Progress("sent", MESSAGES)
        stalled_at = seed_loop(p, msgs, progress)
        progress.close()
        print(f"   input().send() blocked after {stalled_at} messages "
              f"(gave up after {GIVE_UP:g}s): 2*cbs + 4*max(cbs, 1) + 1 = "
              f"2*{cbs} + 4*{max(cbs, 1)} + 1 = {expected}")

        print("2. the fix, on the same producer: one select that sends and reads successes():")
        progress = Progress("acknowledged", MESSAGES)
        acked, failed = select_loop(p, msgs[stalled_at:], stalled_at, progress)
        progress.close()
    finally:
        p.close()
    last = msgs[-1].offset
    print(f"   {acked} acknowledged, {failed} failed; the last one is at offset {last}")

    print("3. or turn them off: the seed's loop with return_successes=False (the default):")
    p = AsyncProducer(addrs, Config())
    progress = Progress("sent", MESSAGES)
    sent = seed_loop(p, [ProducerMessage(topic, value=m.value) for m in msgs], progress)
    progress.close()
    p.close()  # waits for every message; raises ProducerErrors if any failed
    print(f"   {sent} sent, no stall; close() returned: every one acknowledged")
    ok = stalled_at == expected and acked == MESSAGES and sent == MESSAGES
    return 0 if ok else 1
