"""SyncProducer against a real broker (spec §2)."""

from __future__ import annotations

import threading

import pytest
from producer_helpers import config, consume

from producer import (
    BrokerError,
    ClosedProducerError,
    ConfigurationError,
    ProducerErrors,
    ProducerMessage,
    SyncProducer,
)
from producer.testing import KafkaCluster


@pytest.mark.timeout(60)
def test_send_message_returns_where_the_consumer_finds_it(kafka_cluster: KafkaCluster,
                                                          new_topic) -> None:
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    placed: dict[tuple[int, int], bytes] = {}
    with SyncProducer(bootstrap, config(successes=True)) as p:
        for i in range(60):
            msg = ProducerMessage(topic, key=b"k%d" % (i % 7), value=b"v%d" % i,
                                  headers=[("n", b"%d" % i)])
            partition, offset = p.send_message(msg)
            assert (partition, offset) == (msg.partition, msg.offset)
            placed[(partition, offset)] = msg.value
    records = consume(bootstrap, topic, 3, 60)
    assert {(r.partition, r.offset): r.value for r in records} == placed
    assert len(records) == 60


@pytest.mark.timeout(60)
def test_send_message_raises_the_bare_cause(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    with SyncProducer(kafka_cluster.bootstrap_servers,
                      config(successes=True, max_message_bytes=1000)) as p:
        with pytest.raises(ConfigurationError, match=r"Producer\.MaxMessageBytes"):
            p.send_message(ProducerMessage(topic, value=b"x" * 2000))
        with pytest.raises(TypeError):
            p.send_message(ProducerMessage(topic, value=12))  # type: ignore[arg-type]
        assert p.send_message(ProducerMessage(topic, value=b"fine")) == (0, 0)


@pytest.mark.timeout(60)
def test_broker_error_is_raised(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1, configs={"max.message.bytes": "2000"})
    with SyncProducer(kafka_cluster.bootstrap_servers) as p:
        with pytest.raises(BrokerError, match="MessageSizeTooLarge"):
            p.send_message(ProducerMessage(topic, value=b"x" * 5000))
        assert p.send_message(ProducerMessage(topic, value=b"ok")) == (0, 0)


@pytest.mark.timeout(60)
def test_send_messages_partial_failure(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    msgs = [ProducerMessage(topic, key=b"k%d" % i,
                            value=b"x" * 5000 if i % 10 == 3 else b"v%d" % i, metadata=i)
            for i in range(100)]
    with SyncProducer(bootstrap, config(successes=True, max_message_bytes=1000)) as p:
        with pytest.raises(ProducerErrors) as info:
            p.send_messages(msgs)
        failed = [m for m in msgs if m.metadata % 10 == 3]
        assert [e.msg for e in info.value] == failed  # only the failed ones, in order
        assert all(isinstance(e.err, ConfigurationError) for e in info.value)
        text = str(info.value).splitlines()
        assert text[0] == "kafka: Failed to deliver 10 messages."
        assert len(text) == 5 and text[-1] == "  ... and 7 more"
        assert all(line.startswith(f"  topic {msgs[0].topic}: kafka: invalid configuration "
                                   "(Attempt to produce message larger than configured")
                   for line in text[1:4])
        ok = [m for m in msgs if m.metadata % 10 != 3]
        assert all(m.offset >= 0 for m in ok)
        assert all(m.offset == -1 for m in failed)
        placed = {(m.partition, m.offset): m.value for m in ok}
        assert len(placed) == 90
        again = [ProducerMessage(topic, value=b"again-%d" % i) for i in range(5)]
        assert p.send_messages(again) is None  # all fine: no exception
        placed.update({(m.partition, m.offset): m.value for m in again})
    records = consume(bootstrap, topic, 3, 95)
    assert {(r.partition, r.offset): r.value for r in records} == placed
    assert len(records) == 95


@pytest.mark.timeout(120)
def test_thread_safety_8_threads(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=3)
    bootstrap = kafka_cluster.bootstrap_servers
    results: dict[int, list[tuple[int, int, bytes]]] = {}
    failures: list[BaseException] = []
    with SyncProducer(bootstrap) as p:
        def worker(t: int) -> None:
            got = []
            try:
                for i in range(500):
                    msg = ProducerMessage(topic, key=b"t%d" % t, value=b"%d-%d" % (t, i))
                    got.append((*p.send_message(msg), msg.value))
            except BaseException as exc:
                failures.append(exc)
            results[t] = got

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(100)
    assert failures == []
    assert sum(len(v) for v in results.values()) == 4000
    placed = {(part, off): value for got in results.values() for part, off, value in got}
    assert len(placed) == 4000  # no two sends got the same (partition, offset)
    for got in results.values():  # one key per thread: one partition, increasing offsets
        assert len({part for part, _, _ in got}) == 1
        offsets = [off for _, off, _ in got]
        assert offsets == sorted(offsets)
    records = consume(bootstrap, topic, 3, 4000)
    assert {(r.partition, r.offset): r.value for r in records} == placed


@pytest.mark.timeout(60)
def test_after_close(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    p = SyncProducer(kafka_cluster.bootstrap_servers)
    p.send_message(ProducerMessage(topic, value=b"before"))
    assert p.close() is None
    with pytest.raises(ClosedProducerError):
        p.send_message(ProducerMessage(topic, value=b"after"))
    with pytest.raises(ClosedProducerError):
        p.send_messages([ProducerMessage(topic, value=b"after")])
    assert p.close() is None  # a second close is harmless
    assert [r.value for r in consume(kafka_cluster.bootstrap_servers, topic, 1, 1)] == [
        b"before"]


@pytest.mark.timeout(60)
def test_config_none_works(kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic(partitions=1)
    with SyncProducer(kafka_cluster.bootstrap_servers, None) as p:
        assert p.send_message(ProducerMessage(topic, value=b"a")) == (0, 0)
    with SyncProducer([kafka_cluster.bootstrap_servers]) as p:
        assert p.send_message(ProducerMessage(topic, key="k", value="ü")) == (0, 1)
    records = consume(kafka_cluster.bootstrap_servers, topic, 1, 2)
    assert [(r.key, r.value) for r in records] == [(None, b"a"), (b"k", "ü".encode())]
