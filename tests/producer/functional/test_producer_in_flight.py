"""One ProducerMessage object is one send (issue 14, item 1): an object that is
already in flight is refused at once instead of hanging, in the real producers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from producer_helpers import Drain, config

from producer import AsyncProducer, ProducerError, ProducerMessage, SyncProducer
from producer.testing import KafkaCluster

IN_FLIGHT = ("this ProducerMessage object is already in flight (accepted by a producer, its "
             "result not yet delivered); build a new ProducerMessage for each send")


class Gate:
    """An interceptor that holds the dispatcher on its first message until opened."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def on_send(self, msg: ProducerMessage) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.open.wait(30)


@pytest.mark.timeout(60)
def test_send_messages_with_one_object_twice_raises_at_once(kafka_cluster: KafkaCluster,
                                                             new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    msg = ProducerMessage(topic, value=b"v")
    with SyncProducer(kafka_cluster.bootstrap_servers) as p:
        with pytest.raises(ValueError) as info:
            p.send_messages([msg] * 3)  # hung before: the second use took the reply slot
        assert str(info.value) == (
            "send_messages(): the same ProducerMessage object is at positions 0 and 1 of the "
            "batch; build a new ProducerMessage for each send")
        assert msg.offset == -1  # nothing was sent
        other = ProducerMessage(topic, value=b"w")
        with pytest.raises(ValueError, match="positions 1 and 2"):
            p.send_messages([other, msg, msg])
        assert other.offset == -1
        # Nothing stays claimed: both objects can be sent now, and again once delivered.
        p.send_messages([other, msg])
        assert (other.offset, msg.offset) == (0, 1)
        assert p.send_message(msg) == (0, 2)


@pytest.mark.timeout(60)
def test_send_message_of_an_object_in_flight_elsewhere_raises(kafka_cluster: KafkaCluster,
                                                              new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    gate = Gate()
    holder = AsyncProducer(kafka_cluster.bootstrap_servers,
                           config(successes=True, interceptors=[gate]))
    drain = Drain(holder)
    msg = ProducerMessage(topic, value=b"v")
    try:
        with SyncProducer(kafka_cluster.bootstrap_servers) as p:
            holder.input().send(msg)
            assert gate.entered.wait(30)  # the holder has accepted msg: it is in flight
            with pytest.raises(ValueError) as info:
                p.send_message(msg)
            assert str(info.value) == f"send_message(): {IN_FLIGHT}"
            with pytest.raises(ValueError, match="already in flight"):
                p.send_messages([ProducerMessage(topic, value=b"w"), msg])
            gate.open.set()
            holder.async_close()
            drain.join()
            assert drain.successes == [msg] and not drain.errors
            assert p.send_message(msg) == (0, 1)  # delivered: it may be sent again
    finally:
        gate.open.set()
        holder.close()


@pytest.mark.timeout(60)
def test_input_of_an_object_in_flight_fails_it_without_disturbing_the_first(
        kafka_cluster: KafkaCluster, new_topic: Any) -> None:
    topic = new_topic(partitions=1)
    gate = Gate()
    # A long linger keeps the first send unacknowledged while the second arrives.
    c = config(successes=True, interceptors=[gate])
    c.producer.flush.frequency = 0.5
    c.producer.flush.messages = 1000
    p = AsyncProducer(kafka_cluster.bootstrap_servers, c)
    drain = Drain(p)
    msg = ProducerMessage(topic, value=b"v")
    sync_gate = Gate()
    sync = SyncProducer(kafka_cluster.bootstrap_servers,
                        config(successes=True, interceptors=[sync_gate]))
    sync_msg = ProducerMessage(topic, value=b"s")
    t = threading.Thread(target=sync.send_message, args=(sync_msg,))
    try:
        p.input().send(msg)
        assert gate.entered.wait(30)
        p.input().send(msg)  # the same object again, while the first is held
        t.start()
        assert sync_gate.entered.wait(30)
        p.input().send(sync_msg)  # held by the SyncProducer
        gate.open.set()
        deadline = time.monotonic() + 30
        while len(drain.errors) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        sync_gate.open.set()
        t.join(30)
        p.async_close()
        drain.join()
    finally:
        gate.open.set()
        sync_gate.open.set()
        p.close()
        sync.close()
    assert drain.successes == [msg]
    assert {msg.offset, sync_msg.offset} == {0, 1}  # each written once
    rejected = [e for e in drain.errors if e.msg is msg]
    assert len(rejected) == 1
    err = rejected[0]
    assert isinstance(err, ProducerError) and isinstance(err.err, ValueError)
    assert str(err.err) == IN_FLIGHT
    assert str(err) == f"kafka: Failed to produce message to topic {topic}: {IN_FLIGHT}"
    assert [e.msg for e in drain.errors] == [msg, sync_msg]
    assert all(str(e.err) == IN_FLIGHT for e in drain.errors)
    assert not t.is_alive()  # the SyncProducer's send was undisturbed


@pytest.mark.timeout(120)
def test_threads_racing_to_send_one_object_never_hang_and_each_accepted_send_ends_once(
        kafka_cluster: KafkaCluster, new_topic: Any) -> None:
    """Stress: four threads send one object through two SyncProducers and an
    AsyncProducer; every call ends, and accepted sends are exactly the results."""
    topic = new_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    msg = ProducerMessage(topic, value=b"shared")
    a = AsyncProducer(bootstrap, config(successes=True))
    drain = Drain(a)
    s1, s2 = SyncProducer(bootstrap), SyncProducer(bootstrap)
    counts = {"sync_ok": 0, "sync_refused": 0}
    lock = threading.Lock()

    def sync_sender(p: SyncProducer) -> None:
        for _ in range(150):
            try:
                p.send_message(msg)
                key = "sync_ok"
            except ValueError as exc:
                assert "already in flight" in str(exc)
                key = "sync_refused"
            with lock:
                counts[key] += 1

    def async_sender() -> None:
        for _ in range(300):
            a.input().send(msg)

    threads = [threading.Thread(target=sync_sender, args=(s,)) for s in (s1, s2, s1)]
    threads.append(threading.Thread(target=async_sender))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
            assert not t.is_alive(), "a send hung"
        a.async_close()
        drain.join()
    finally:
        a.close()
        s1.close()
        s2.close()
    assert counts["sync_ok"] + counts["sync_refused"] == 450
    assert len(drain.successes) + len(drain.errors) == 300  # each input() send ends once
    assert all(str(e.err) == IN_FLIGHT for e in drain.errors)
    assert counts["sync_ok"] >= 1
    assert msg._owner is None and msg._reply is None
