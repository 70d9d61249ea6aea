"""A fake kafka-python client for the producer's unit tests (no broker), and the ``fake``
fixture's :class:`Fake` (the fixture itself is in ``tests/producer/conftest.py``).

``producer._kafka`` is the only module that talks to kafka-python; :class:`Fake` replaces
its ``new_client`` (and the batch appender) in ``producer._async_producer`` with
:class:`FakeClient`, whose futures the test completes, at once or when it says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import kafka.errors as kerrors
import pytest

import producer._async_producer as ap
from producer import Config

__all__ = ["ADDR", "Fake", "FakeBatch", "FakeClient"]

ADDR = "127.0.0.1:1"  # never dialled: the client is fake


class FakeBatch:
    """A batch of the fake client: the producer's sink and the records in it."""

    def __init__(self, sink: Any, tp: tuple[str, int]) -> None:
        self.sink = sink
        self.tp = tp
        self.records: list[dict[str, Any]] = []


class FakeClient:
    """Just enough of ``kafka.KafkaProducer`` for the producer: ``partitions_for``, the
    per-batch appender of ``producer._kafka`` and ``close``. With ``auto`` each record
    is a batch of its own, completed at once; otherwise records gather in batches of
    up to ``batch_records`` per partition, completed when the test says so."""

    def __init__(self, topics: dict[str, int], auto: bool) -> None:
        self.topics = topics
        self.auto = auto
        self.batch_records = 3
        self.lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []
        self.pending: list[FakeBatch] = []
        self.open: dict[tuple[str, int], FakeBatch] = {}
        self.offsets: dict[tuple[str, int], int] = {}
        self.fail_with: Callable[[dict[str, Any]], BaseException | None] = lambda rec: None
        self.closed = False

    def partitions_for(self, topic: str) -> set[int]:
        if topic not in self.topics:
            raise kerrors.KafkaTimeoutError(f"Failed to update metadata after 0.1 secs ({topic})")
        return set(range(self.topics[topic]))

    def appender(self, open_batch: Callable[[str, int], Any]) -> tuple[Callable[..., None],
                                                                       Callable[[Any], None]]:
        def append(topic: str, partition: int, key: Any, value: Any, headers: Any,
                   timestamp_ms: Any, item: Any) -> None:
            if key is None and value is None:
                raise ValueError("Need at least one: key or value")
            record = {"topic": topic, "value": value, "key": key, "headers": headers,
                      "partition": partition, "timestamp_ms": timestamp_ms}
            tp = (topic, partition)
            with self.lock:
                self.sent.append(record)
                batch = self.open.get(tp)
                if self.auto or batch is None or len(batch.records) >= self.batch_records:
                    batch = self.open[tp] = FakeBatch(open_batch(topic, partition), tp)
                    if not self.auto:
                        self.pending.append(batch)
                batch.records.append(record)
                batch.sink.items.append(item)
            if self.auto:
                self._complete(batch)

        def seal(sink: Any) -> None:
            with self.lock:
                for tp, batch in list(self.open.items()):
                    if batch.sink is sink:
                        del self.open[tp]

        return append, seal

    def _complete(self, batch: FakeBatch) -> None:
        with self.lock:
            if self.open.get(batch.tp) is batch:
                del self.open[batch.tp]
        errors = [self.fail_with(rec) for rec in batch.records]
        if any(errors):
            def record_error(i: int) -> BaseException:
                return errors[i] or kerrors.KafkaError("part of a batch with a bad record")
            batch.sink.completed((-1, -1, record_error))
            return
        with self.lock:
            offset = self.offsets.get(batch.tp, 0)
            self.offsets[batch.tp] = offset + len(batch.records)
        batch.sink.completed((offset, -1, None))

    def complete_all(self) -> int:
        """Complete every pending batch; how many records they held."""
        with self.lock:
            pending, self.pending = self.pending, []
        for batch in pending:
            self._complete(batch)
        return sum(len(b.records) for b in pending)

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def _fake_appender(client: FakeClient, open_batch: Callable[[str, int], Any],
                   compress: Callable[[bytes], bytes] | None = None, max_records: int = 0,
                   ) -> tuple[Callable[..., None], Callable[[Any], None]]:
    # the fake writes no batch: nothing to compress; the batch limit is the real
    # appender's (tests on a broker)
    return client.appender(open_batch)


class Fake:
    """The fixture: builds producers over fake clients and remembers them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.topics = {"t": 1, "t3": 3}
        self.auto = True
        self.clients: list[FakeClient] = []
        monkeypatch.setattr(ap, "new_client", self._new_client)
        monkeypatch.setattr(ap, "appender", _fake_appender)
        # The fake sends no requests: nothing to measure (metrics() stays empty).
        monkeypatch.setattr(ap, "record_metrics", lambda client, registry, client_id: None)

    def _new_client(self, addrs: Any, config: Any) -> FakeClient:
        client = FakeClient(self.topics, self.auto)
        self.clients.append(client)
        return client

    @property
    def client(self) -> FakeClient:
        return self.clients[-1]

    def config(self, cbs: int = 256, successes: bool = False, errors: bool = True,
               **producer_fields: Any) -> Config:
        config = Config()
        config.channel_buffer_size = cbs
        config.producer.return_successes = successes
        config.producer.return_errors = errors
        for name, value in producer_fields.items():
            setattr(config.producer, name, value)
        return config
