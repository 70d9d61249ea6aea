"""SyncProducer over a fake kafka-python client (no broker): results, partial failures,
use after close, bad input, overdue messages. Against a real broker:
``functional/test_producer_sync.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_client import ADDR, Fake

import producer._async_producer as ap
from producer import (
    BrokerError,
    ClosedProducerError,
    ConfigurationError,
    ProducerErrors,
    ProducerMessage,
    SyncProducer,
)


@pytest.mark.timeout(30)
def test_sync_send_message_fails_once_overdue(fake: Fake, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    monkeypatch.setattr(ap, "_EXPIRY_PERIOD", 0.05)
    fake.auto = False
    producer = SyncProducer(ADDR, fake.config(successes=True))
    producer._producer._overdue_after = 0.3
    with pytest.raises(BrokerError, match="no result from the Kafka client"):
        producer.send_message(ProducerMessage("t", value=b"a"))
    fake.client.complete_all()
    producer.close()


@pytest.fixture
def sync(fake: Fake) -> Iterator[SyncProducer]:
    config = fake.config(successes=True, max_message_bytes=1000)
    producer = SyncProducer(ADDR, config)
    yield producer
    producer.close()


@pytest.mark.timeout(30)
def test_sync_send_message(sync: SyncProducer) -> None:
    assert sync.send_message(ProducerMessage("t", value=b"a")) == (0, 0)
    assert sync.send_message(ProducerMessage("t", value=b"b")) == (0, 1)
    with pytest.raises(ConfigurationError, match=r"Producer\.MaxMessageBytes"):
        sync.send_message(ProducerMessage("t", value=b"x" * 2000))  # the bare cause
    assert sync.send_message(ProducerMessage("t", value=b"c")) == (0, 2)


@pytest.mark.timeout(30)
def test_sync_send_messages_partial_failure(sync: SyncProducer) -> None:
    msgs = [ProducerMessage("t", value=b"x" * (2000 if i % 3 == 0 else 1), metadata=i)
            for i in range(9)]
    with pytest.raises(ProducerErrors) as info:
        sync.send_messages(msgs)
    assert [e.msg for e in info.value] == [msgs[0], msgs[3], msgs[6]]
    assert all(isinstance(e.err, ConfigurationError) for e in info.value)
    ok = [m for i, m in enumerate(msgs) if i % 3]
    assert [m.offset for m in ok] == list(range(6))
    assert all(m.offset == -1 for i, m in enumerate(msgs) if i % 3 == 0)
    sync.send_messages([])  # nothing to do


@pytest.mark.timeout(30)
def test_sync_after_close(fake: Fake) -> None:
    producer = SyncProducer(ADDR, None)
    producer.send_message(ProducerMessage("t", value=b"a"))
    producer.close()
    with pytest.raises(ClosedProducerError):
        producer.send_message(ProducerMessage("t", value=b"b"))
    with pytest.raises(ClosedProducerError):
        producer.send_messages([ProducerMessage("t", value=b"c")])
    producer.close()  # harmless


@pytest.mark.timeout(30)
def test_sync_rejects_non_messages(sync: SyncProducer) -> None:
    with pytest.raises(TypeError):
        sync.send_message("not a message")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sync.send_messages([ProducerMessage("t", value=b"a"), None])  # type: ignore[list-item]
