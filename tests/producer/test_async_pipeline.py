"""The AsyncProducer pipeline over a fake kafka-python client (no broker).

``producer._kafka`` is the only module that talks to kafka-python; here its
``new_client`` is replaced by ``fake_client.FakeClient``, whose futures the test completes
(at once, or when it says so). That makes the exact blocking arithmetic, the close
order and the error paths deterministic. The same points are checked against a
real broker in ``functional/test_producer_*.py``; SyncProducer's own unit tests are in
``test_sync_producer.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import kafka.errors as kerrors
import pytest
from fake_client import ADDR, Fake, FakeBatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import producer._async_producer as ap
from gochan import Chan, ClosedChannelError, go
from producer import (
    AsyncProducer,
    BrokerError,
    ConfigurationError,
    InvalidPartitionError,
    InvalidTopicError,
    ProducerError,
    ProducerErrors,
    ProducerMessage,
    ShuttingDownError,
)


def drain_both(p: AsyncProducer) -> tuple[list[ProducerMessage], list[ProducerError]]:
    """Read successes() and errors() until both close (after async_close)."""
    got_s: list[ProducerMessage] = []
    g = go(lambda: got_s.extend(p.successes()))
    got_e = list(p.errors())
    g.join()
    return got_s, got_e


def accepted_until_blocked(p: AsyncProducer, make: Callable[[int], Any],
                           wait: float = 0.3, limit: int = 5000) -> int:
    n = 0
    while n < limit:
        try:
            p.input().send(make(n), timeout=wait)
        except TimeoutError:
            return n
        n += 1
    raise AssertionError(f"input() never blocked after {limit} messages")


# -- the exact blocking arithmetic -----------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("cbs", [0, 1, 16, 256])
def test_unread_successes_block_input_after_2cbs_plus_w_plus_1(fake: Fake, cbs: int) -> None:
    p = AsyncProducer(ADDR, fake.config(cbs, successes=True))
    expected = 2 * cbs + 4 * max(cbs, 1) + 1
    n = accepted_until_blocked(p, lambda i: ProducerMessage("t", value=b"%d" % i))
    assert n == expected
    # still stalled a moment later: nothing moves without a reader
    with pytest.raises(TimeoutError):
        p.input().send(ProducerMessage("t", value=b"late"), timeout=0.2)
    p.async_close()
    successes, errors = drain_both(p)
    assert errors == []
    assert [m.value for m in successes] == [b"%d" % i for i in range(n)]
    assert [m.offset for m in successes] == list(range(n))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("cbs", "batch_records"), [(0, 5), (1, 3), (16, 7), (16, 200),
                                                    (64, 50)])
def test_the_stall_is_exact_with_batches_completed_in_bursts(fake: Fake, cbs: int,
                                                              batch_records: int) -> None:
    """Batches of many messages, completed by a 'network thread' as a whole: the
    successes of a batch that does not fit in successes() wait in the result stage,
    holding their window slots, so input() still stalls after exactly 2*cbs + W + 1."""
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config(cbs, successes=True))
    fake.client.batch_records = batch_records
    stop = threading.Event()

    def network() -> None:
        while not stop.is_set():
            if not fake.client.complete_all():
                time.sleep(0.001)

    net = threading.Thread(target=network)
    net.start()
    try:
        n = accepted_until_blocked(p, lambda i: ProducerMessage("t", value=b"%d" % i))
        assert n == 2 * cbs + 4 * max(cbs, 1) + 1
        p.async_close()
        successes, errors = drain_both(p)
    finally:
        stop.set()
        net.join()
    assert errors == []
    assert [m.offset for m in successes] == list(range(n))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cbs", [0, 1, 16, 256])
def test_unread_errors_block_input_after_2cbs_plus_1(fake: Fake, cbs: int) -> None:
    p = AsyncProducer(ADDR, fake.config(cbs, max_message_bytes=100))
    n = accepted_until_blocked(p, lambda i: ProducerMessage("t", value=b"x" * 200))
    assert n == 2 * cbs + 1
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [] and len(errors) == n
    assert fake.client.sent == []


@pytest.mark.timeout(60)
def test_good_messages_flow_until_the_errors_buffer_is_full(fake: Fake) -> None:
    """One unread error does not stall (errors() is buffered); cbs + 1 of them do."""
    cbs = 4
    p = AsyncProducer(ADDR, fake.config(cbs, max_message_bytes=100))
    p.input().send(ProducerMessage("t", value=b"x" * 200))
    for _i in range(1000):
        p.input().send(ProducerMessage("t", value=b"ok"), timeout=5)
    for _ in range(cbs):  # errors() holds cbs now, the dispatcher blocks holding the last
        p.input().send(ProducerMessage("t", value=b"x" * 200), timeout=5)
    n = accepted_until_blocked(p, lambda i: ProducerMessage("t", value=b"ok"))
    assert n == cbs  # only input()'s buffer is left
    p.async_close()
    _successes, errors = drain_both(p)
    assert len(errors) == cbs + 1
    assert len(fake.client.sent) == 1000 + n


# -- errors per message ----------------------------------------------------------------

def _custom(index: Any) -> Callable[[str], Any]:
    class Fixed:
        def __init__(self, topic: str) -> None:
            pass

        def partition(self, msg: ProducerMessage, n: int) -> Any:
            return index

        def requires_consistency(self) -> bool:
            return True

    return Fixed


@pytest.mark.timeout(30)
def test_each_bad_message_fails_alone(fake: Fake) -> None:
    p = AsyncProducer(ADDR, fake.config(successes=True, max_message_bytes=1000,
                                        partitioner="manual"))
    bad = {
        "oversized": (ProducerMessage("t", value=b"x" * 1000, partition=0), ConfigurationError),
        "key type": (ProducerMessage("t", value=b"v", key=12, partition=0), TypeError),
        "value type": (ProducerMessage("t", value={"a": 1}, partition=0), TypeError),
        "no topic": (ProducerMessage("", value=b"v", partition=0), InvalidTopicError),
        "topic None": (ProducerMessage(None, value=b"v", partition=0), InvalidTopicError),
        "bad topic": (ProducerMessage("a/b", value=b"v", partition=0), InvalidTopicError),
        "partition 1 of 1": (ProducerMessage("t", value=b"v", partition=1),
                             InvalidPartitionError),
        "partition -1": (ProducerMessage("t", value=b"v"), InvalidPartitionError),
        "unknown topic": (ProducerMessage("nope", value=b"v", partition=0), BrokerError),
        "header type": (ProducerMessage("t", value=b"v", headers=[("k", 1)], partition=0),
                        TypeError),
    }
    good = []
    for i, (message, _) in enumerate(bad.values()):
        ok = ProducerMessage("t", value=b"good-%d" % i, partition=0, metadata=i)
        good.append(ok)
        p.input().send(message)
        p.input().send(ok)
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == good  # the very objects, in order
    assert len(errors) == len(bad)
    by_msg = {id(e.msg): e for e in errors}
    for name, (message, err_type) in bad.items():
        err = by_msg[id(message)]
        assert err.msg is message, name
        assert isinstance(err.err, err_type), (name, err.err)
        assert err.__cause__ is err.err
        assert str(err).startswith(f"kafka: Failed to produce message to topic {message.topic}")
    oversized = by_msg[id(bad["oversized"][0])].err
    assert "Producer.MaxMessageBytes" in str(oversized)
    assert "1036 > 1000" in str(oversized)  # sarama's estimate: value + 36


@pytest.mark.timeout(30)
def test_size_estimate_counts_key_value_headers(fake: Fake) -> None:
    """sarama's estimate (Version >= 0.11): key + value + 36 + each header's k + v + 10,
    failing only when strictly greater than max_message_bytes."""
    p = AsyncProducer(ADDR, fake.config(successes=True, max_message_bytes=100))
    fits = ProducerMessage("t", key=b"k" * 10, value=b"v" * 34, headers=[("h", b"x" * 9)])
    over = ProducerMessage("t", key=b"k" * 10, value=b"v" * 35, headers=[("h", b"x" * 9)])
    p.input().send(fits)  # 10 + 34 + 36 + (1 + 9 + 10) = 100
    p.input().send(over)  # 101
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [fits]
    assert [e.msg for e in errors] == [over]


@pytest.mark.timeout(30)
def test_version_before_0_11_refuses_headers_and_uses_the_older_estimate(fake: Fake) -> None:
    """sarama's dispatcher with ``Version`` < 0.11: headers fail the message, and the size
    estimate is key + value + 26 (the older message format's overhead)."""
    c = fake.config(successes=True, max_message_bytes=100)
    c.version = (0, 10, 2)
    p = AsyncProducer(ADDR, c)
    headers = ProducerMessage("t", value=b"v", headers=[("h", b"x")])
    fits = ProducerMessage("t", key=b"k" * 10, value=b"v" * 64)  # 10 + 64 + 26 = 100
    p.input().send(headers)
    p.input().send(fits)
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [fits]
    assert [e.msg for e in errors] == [headers]
    assert "Producing headers requires Kafka at least v0.11" in str(errors[0].err)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("index", [1, -1, 3, "0", 0.0, None])
def test_partitioner_returning_a_bad_index(fake: Fake, index: Any) -> None:
    p = AsyncProducer(ADDR, fake.config(partitioner=_custom(index)))
    message = ProducerMessage("t", value=b"v")
    p.input().send(message)
    p.async_close()
    _, errors = drain_both(p)
    assert len(errors) == 1 and errors[0].msg is message
    assert isinstance(errors[0].err, InvalidPartitionError)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("item", [None, "a string", b"bytes", {"topic": "t"}, 42])
def test_non_messages_on_input_are_reported(fake: Fake, item: Any) -> None:
    p = AsyncProducer(ADDR, fake.config(successes=True))
    p.input().send(item)
    ok = ProducerMessage("t", value=b"after")
    p.input().send(ok)
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [ok]
    assert len(errors) == 1
    assert errors[0].msg is None
    assert isinstance(errors[0].err, TypeError)
    assert "ProducerMessage" in str(errors[0].err)


@pytest.mark.timeout(30)
def test_client_failures_come_back_translated(fake: Fake) -> None:
    p = AsyncProducer(ADDR, fake.config(successes=True))
    fake.client.fail_with = lambda rec: (kerrors.NotLeaderForPartitionError()
                                         if rec["value"] == b"bad" else None)
    bad = ProducerMessage("t", value=b"bad")
    good = ProducerMessage("t", value=b"good")
    p.input().send(bad)
    p.input().send(good)
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [good]
    assert errors[0].msg is bad
    assert isinstance(errors[0].err, BrokerError)
    assert errors[0].err.retriable is True
    assert "NotLeaderForPartitionError" in str(errors[0].err)


@pytest.mark.timeout(30)
def test_return_errors_off_logs_instead(fake: Fake, caplog: pytest.LogCaptureFixture) -> None:
    p = AsyncProducer(ADDR, fake.config(errors=False, max_message_bytes=100))
    for _ in range(600):  # more than any buffer: nothing may block
        p.input().send(ProducerMessage("t", value=b"x" * 200), timeout=5)
    p.close()
    assert any("Failed to produce" in r.getMessage() for r in caplog.records)


# -- shutdown ------------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_close_closes_input_then_errors_then_successes(fake: Fake) -> None:
    # Observed as a user sees it (no channel subclass: the compiled gochan's Chan takes
    # none): when the drain of one output ends, the channel closed before it is closed.
    p = AsyncProducer(ADDR, fake.config(successes=True))
    seen: dict[str, bool] = {}

    def drain(name: str, ch: Chan[Any], before: Chan[Any]) -> None:
        for _ in ch:
            pass
        seen[name] = before.closed

    errors_done = go(drain, "errors", p.errors(), p.input())
    successes_done = go(drain, "successes", p.successes(), p.errors())
    p.input().send(ProducerMessage("t", value=b"v"))
    p.close()
    assert errors_done.join(5) and successes_done.join(5)
    assert seen == {"errors": True, "successes": True}
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        p.input().send(ProducerMessage("t", value=b"after"))
    assert p.errors().recv_ok() == (None, False)
    assert p.successes().recv_ok() == (None, False)
    assert fake.client.closed


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("successes", "errors"), [(False, False), (False, True),
                                                   (True, False), (True, True)])
def test_close_waits_for_every_accepted_message(fake: Fake, successes: bool,
                                                errors: bool) -> None:
    """Even fire-and-forget (both flags off) close() blocks until all are resolved (#787)."""
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config(successes=successes, errors=errors))
    for i in range(50):
        p.input().send(ProducerMessage("t", value=b"%d" % i))
    closer = go(p.close)
    time.sleep(0.3)
    assert closer.thread.is_alive() and not p.closed
    assert fake.client.complete_all() == 50
    closer.join(10)
    assert p.closed
    assert len(fake.client.sent) == 50


@pytest.mark.timeout(30)
def test_close_raises_the_collected_errors(fake: Fake) -> None:
    p = AsyncProducer(ADDR, fake.config(max_message_bytes=100))
    bad = [ProducerMessage("t", value=b"x" * 200, metadata=i) for i in range(3)]
    for m in bad:
        p.input().send(m)
    p.input().send(ProducerMessage("t", value=b"ok"))
    with pytest.raises(ProducerErrors) as info:
        p.close()
    assert [e.msg for e in info.value] == bad
    assert len(info.value) == 3
    assert str(info.value).splitlines()[0] == "kafka: Failed to deliver 3 messages."
    assert info.value.args == ("kafka: Failed to deliver 3 messages.",)  # sarama's text
    p.close()  # a second close is harmless and returns at once


@pytest.mark.timeout(30)
def test_messages_sent_while_shutting_down_fail(fake: Fake) -> None:
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config(successes=True))
    first = ProducerMessage("t", value=b"before")
    p.input().send(first)
    p.async_close()
    late = ProducerMessage("t", value=b"during")
    p.input().send(late)  # the dispatcher has the marker: shutdown waits for `first`
    errors_seen = [p.errors().recv(timeout=5)]
    assert errors_seen[0].msg is late
    assert isinstance(errors_seen[0].err, ShuttingDownError)
    assert "shutting down" in str(errors_seen[0].err)
    fake.client.complete_all()
    successes, errors = drain_both(p)
    assert successes == [first] and errors == []
    assert [r["value"] for r in fake.client.sent] == [b"before"]


@pytest.mark.timeout(30)
def test_context_manager_closes(fake: Fake) -> None:
    with AsyncProducer(ADDR, fake.config()) as p:
        p.input().send(ProducerMessage("t", value=b"v"))
    assert p.closed
    assert "closed" in repr(p)


@pytest.mark.timeout(30)
def test_close_from_a_partitioner_is_refused(fake: Fake) -> None:
    seen: list[BaseException] = []
    holder: list[AsyncProducer] = []

    class Closing:
        def __init__(self, topic: str) -> None:
            pass

        def partition(self, msg: ProducerMessage, n: int) -> int:
            try:
                holder[0].close()
            except RuntimeError as exc:
                seen.append(exc)
            return 0

        def requires_consistency(self) -> bool:
            return False

    p = AsyncProducer(ADDR, fake.config(partitioner=Closing))
    holder.append(p)
    p.input().send(ProducerMessage("t", value=b"v"))
    p.close()
    assert len(seen) == 1 and "deadlock" in str(seen[0])


@pytest.mark.timeout(30)
def test_interceptors_run_and_their_failures_are_only_logged(
        fake: Fake, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []

    class Tag:
        def on_send(self, msg: ProducerMessage) -> None:
            calls.append(msg.metadata)
            msg.value = b"tagged:" + msg.value

    class Broken:
        def on_send(self, msg: ProducerMessage) -> None:
            raise ValueError("boom")

    p = AsyncProducer(ADDR, fake.config(successes=True, interceptors=[Broken(), Tag()]))
    for i in range(3):
        p.input().send(ProducerMessage("t", value=b"%d" % i, metadata=i))
    p.async_close()
    _successes, errors = drain_both(p)
    assert calls == [0, 1, 2] and errors == []
    assert [r["value"] for r in fake.client.sent] == [b"tagged:0", b"tagged:1", b"tagged:2"]
    assert any("interceptor" in r.getMessage() for r in caplog.records)


# -- successes skip the result stage only when that keeps their order ----------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(5))
def test_successes_keep_send_order_while_the_reader_lags(fake: Fake, seed: int) -> None:
    """A 'network thread' completes futures in send order, in bursts; the reader pauses
    at random, so successes() is sometimes full (results then queue in the result stage)
    and sometimes not (they skip it). Either way they come out in send order."""
    import random

    rng = random.Random(seed)
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config(cbs=8, successes=True))
    total = 3000

    def network() -> None:
        while not p.closed:
            with fake.client.lock:
                burst = rng.randint(1, 15)
                batches, fake.client.pending = (fake.client.pending[:burst],
                                                fake.client.pending[burst:])
            for batch in batches:
                fake.client._complete(batch)
            time.sleep(rng.choice([0, 0, 0.0005]))

    got: list[int] = []

    def reader() -> None:
        for msg in p.successes():
            got.append(msg.metadata)
            if rng.random() < 0.02:
                time.sleep(0.002)

    net = threading.Thread(target=network)
    net.start()
    r = go(reader)
    errs: list[ProducerError] = []
    errors = go(lambda: errs.extend(p.errors()))
    for i in range(total):
        p.input().send(ProducerMessage("t", value=b"v", metadata=i))
    p.async_close()
    r.join()
    errors.join()
    net.join()
    assert errs == []
    assert got == list(range(total))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(1, 400), partitions=st.integers(1, 3), cbs=st.integers(0, 8),
       batch_records=st.integers(1, 9), fail_every=st.integers(0, 5), seed=st.integers(0, 2**16),
       successes=st.booleans())
@pytest.mark.timeout(300)
def test_per_batch_results_match_a_simple_model(fake: Fake, n: int, partitions: int, cbs: int,
                                                batch_records: int, fail_every: int, seed: int,
                                                successes: bool) -> None:
    """Against the model "each accepted message ends exactly once; per partition, the
    successes come out in send order with consecutive offsets": batches of random sizes,
    completed by a 'network thread' in random order across partitions (in order within
    one, as kafka-python's partition muting does), some failing as a whole, a reader that
    lags at random."""
    import random

    rng = random.Random(seed)
    fake.auto = False
    fake.topics["tp"] = partitions
    p = AsyncProducer(ADDR, fake.config(cbs=cbs, successes=successes,
                                        partitioner="round_robin"))
    client = fake.client
    client.batch_records = batch_records
    failing: set[int] = set()  # ids of the FakeBatches failed as a whole
    stop = threading.Event()

    def network() -> None:
        count = 0
        while not stop.is_set():
            with client.lock:
                heads: dict[tuple[str, int], FakeBatch] = {}
                for b in client.pending:
                    heads.setdefault(b.tp, b)
                chosen = rng.choice(list(heads.values())) if heads else None
                if chosen is not None:
                    client.pending.remove(chosen)
            if chosen is None:
                time.sleep(0.0005)
                continue
            count += 1
            if fail_every and count % fail_every == 0:
                failing.add(id(chosen))
                client.fail_with = lambda rec: kerrors.NotLeaderForPartitionError()
            client._complete(chosen)
            client.fail_with = lambda rec: None

    got_s: list[ProducerMessage] = []
    got_e: list[ProducerError] = []

    def read_successes() -> None:
        for msg in p.successes():
            got_s.append(msg)
            if rng.random() < 0.03:
                time.sleep(0.001)

    net = threading.Thread(target=network)
    net.start()
    readers = [go(read_successes), go(lambda: got_e.extend(p.errors()))]
    sent = [ProducerMessage("tp", value=b"v", metadata=i) for i in range(n)]
    for msg in sent:
        p.input().send(msg)
    p.async_close()
    for r in readers:
        r.join()
    stop.set()
    net.join()
    assert p.closed
    failed = [e.msg.metadata for e in got_e]
    assert all(isinstance(e.err, BrokerError) for e in got_e)
    if successes:
        ok = [m.metadata for m in got_s]
        assert sorted(ok + failed) == list(range(n))  # each exactly once
        assert all(0 <= m.partition < partitions for m in got_s)
        for part in range(partitions):
            mine = [m for m in got_s if m.partition == part]
            assert [m.metadata for m in mine] == sorted(m.metadata for m in mine)
            # the fake gives offsets to successful batches only, in order per partition
            assert [m.offset for m in mine] == list(range(len(mine)))
    else:
        assert got_s == [] and len(set(failed)) == len(failed)
    assert bool(failed) == bool(failing)


# -- the expiry backstop ---------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_messages_the_client_never_completes_fail_once_overdue(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that holds messages past their deadline (kafka-python 3.0's sender
    waiting for a producer id it cannot get) does not hang the producer: each message
    fails once with a retriable BrokerError, its late result is ignored, and the window
    slot is free again."""
    monkeypatch.setattr(ap, "_EXPIRY_PERIOD", 0.05)
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config(successes=True))
    p._overdue_after = 0.3
    held = [ProducerMessage("t", value=b"%d" % i, metadata=i) for i in range(5)]
    for m in held:
        p.input().send(m)
    failed = [p.errors().recv(timeout=10) for _ in held]
    assert sorted(e.msg.metadata for e in failed) == list(range(5))
    assert all(isinstance(e.err, BrokerError) and e.err.retriable for e in failed)
    assert "no result from the Kafka client" in str(failed[0].err)
    assert fake.client.complete_all() == 5  # late results: ignored
    fake.client.auto = True
    later = ProducerMessage("t", value=b"later")
    p.input().send(later)
    assert p.successes().recv(timeout=10) is later
    p.async_close()
    successes, errors = drain_both(p)
    assert (successes, errors) == ([], [])


@pytest.mark.timeout(30)
def test_the_idle_stages_and_the_expiry_goroutine_are_not_reported_as_stalled(
        fake: Fake, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import gochan

    monkeypatch.setattr(ap, "_EXPIRY_PERIOD", 0.3)
    previous = gochan.set_stall_warning(0.2)
    try:
        with caplog.at_level("WARNING", logger="gochan"):
            p = AsyncProducer(ADDR, fake.config())
            control: gochan.Chan[int] = gochan.Chan()
            stalled = gochan.go(control.send, 1)  # a real stall, to show warnings are on
            time.sleep(1.0)  # idle: the dispatcher and result stage wait, the expiry ticks
            assert control.recv() == 1
            stalled.join(5)
            p.close()
    finally:
        gochan.set_stall_warning(previous)
    stalls = [r.getMessage() for r in caplog.records if r.name == "gochan"]
    assert any("Chan.send" in m for m in stalls), stalls  # warnings are on
    # Issue 14: the idle stages (waiting for work) are not reported either.
    assert not [m for m in stalls if "Producer" in m or "_expire_overdue" in m], stalls


@pytest.mark.timeout(30)
def test_close_is_bounded_when_the_client_never_completes(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ap, "_EXPIRY_PERIOD", 0.05)
    fake.auto = False
    p = AsyncProducer(ADDR, fake.config())
    p._overdue_after = 0.3
    for i in range(300):  # more than the window: the rest wait for a slot, then expire
        p.input().send(ProducerMessage("t", value=b"x", metadata=i))
    start = time.monotonic()
    with pytest.raises(ProducerErrors) as info:
        p.close()
    assert time.monotonic() - start < 5
    assert sorted(e.msg.metadata for e in info.value) == list(range(300))


@pytest.mark.timeout(30)
def test_partitioner_exception_fails_only_that_message(fake: Fake) -> None:
    class Picky:
        def __init__(self, topic: str) -> None:
            pass

        def partition(self, msg: ProducerMessage, n: int) -> int:
            if msg.key == b"boom":
                raise ValueError("cannot place this key")
            return 0

        def requires_consistency(self) -> bool:
            return True

    p = AsyncProducer(ADDR, fake.config(successes=True, partitioner=Picky))
    bad = ProducerMessage("t", key=b"boom", value=b"v")
    good = ProducerMessage("t", key=b"fine", value=b"v", headers={"h": "x", b"k": b"y"})
    p.input().send(bad)
    p.input().send(good)
    p.async_close()
    successes, errors = drain_both(p)
    assert successes == [good]
    assert [e.msg for e in errors] == [bad]
    assert isinstance(errors[0].err, ValueError)
    assert fake.client.sent[0]["headers"] == [("h", b"x"), ("k", b"y")]


@pytest.mark.timeout(30)
def test_a_full_window_is_reported_as_a_stall_with_its_hint(
        fake: Fake, caplog: pytest.LogCaptureFixture) -> None:
    """Kafka acknowledges nothing: the window fills and the dispatcher's wait for room
    (a send, not an idle wait) is reported, saying why."""
    import gochan

    fake.auto = False
    previous = gochan.set_stall_warning(0.2)
    try:
        with caplog.at_level("WARNING", logger="gochan"):
            p = AsyncProducer(ADDR, fake.config(cbs=2))
            for i in range(2 * 4 + 1):  # the window (8) and one more, held by the dispatcher
                p.input().send(ProducerMessage("t", value=b"%d" % i), timeout=5)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    "AsyncProducer._dispatch" in r.getMessage() for r in caplog.records):
                time.sleep(0.05)
            fake.client.auto = True  # the ninth completes as soon as it is appended
            fake.client.complete_all()
            p.close()
    finally:
        gochan.set_stall_warning(previous)
    stalls = [r.getMessage() for r in caplog.records
              if r.name == "gochan" and "AsyncProducer._dispatch" in r.getMessage()]
    assert stalls and "[chan send] blocked for" in stalls[0], stalls
    assert stalls[0].endswith("; the producer's window of messages handed to Kafka is full: "
                              "Kafka has not acknowledged the 8 messages the producer holds "
                              "yet (is the broker reachable?)"), stalls[0]


@pytest.mark.timeout(30)
def test_an_abandoned_close_fails_every_undelivered_message_and_leaves_no_goroutine(
        fake: Fake, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14, item 5: what a Ctrl-C in close() does (here abandon() is called from
    another thread instead of a signal, so close() returns with the errors)."""
    import gochan

    fake.auto = False  # the Kafka client never answers
    p = AsyncProducer(ADDR, fake.config())
    msgs = [ProducerMessage("t", value=b"%d" % i) for i in range(3)]
    for m in msgs:
        p.input().send(m)
    waiting = [p._waiting_for()]
    gochan.go(lambda: (time.sleep(0.3), p._abandon()))
    with caplog.at_level("WARNING", logger="producer"), pytest.raises(ProducerErrors) as info:
        p.close()
    assert waiting[0] is not None and " messages in flight (" in waiting[0]
    assert sorted(e.msg.value for e in info.value) == sorted(m.value for m in msgs)
    assert all(isinstance(e.err, ShuttingDownError) and "close() was interrupted" in str(e.err)
               for e in info.value)
    assert any("close() abandoned: 3 undelivered messages to t" in r.getMessage()
               for r in caplog.records)
    assert p.closed and p._waiting_for() is None
    assert not [g for g in gochan.goroutines() if "AsyncProducer" in g.func_name]
