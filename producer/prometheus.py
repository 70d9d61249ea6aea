"""A Prometheus collector for a producer's sarama metrics (needs ``prometheus_client``,
the ``prometheus`` extra).

``ProducerCollector(producer)`` reads :meth:`~producer.AsyncProducer.metrics` at each
scrape; register it with a ``prometheus_client`` registry::

    from prometheus_client import REGISTRY
    REGISTRY.register(ProducerCollector(producer, labels={"producer": "orders"}))

sarama's names become Prometheus names in ``namespace`` (default ``sarama``), dashes as
underscores; the ``-for-topic-<topic>`` and ``-for-broker-<id>`` forms become families
of their own with a ``topic`` or ``broker`` label (``sarama_batch_size_by_topic{topic=
"orders"}``), so no family mixes the total with its parts:

- a meter is a counter of its events (``sarama_record_send_rate_total``: records);
  Prometheus derives rates with ``rate()``;
- a histogram is a summary: quantiles 0.5, 0.75, 0.95, 0.99, 0.999 over sarama's
  decaying sample, ``_count`` and ``_sum`` over every value;
- a counter (``requests-in-flight``) is a gauge, since it goes up and down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import Metric

from ._async_producer import AsyncProducer
from ._metrics import PERCENTILES
from ._sync_producer import SyncProducer

__all__ = ["ProducerCollector"]

# sarama's descriptions (sarama.go), by base name.
_HELP = {
    "batch-size": "Bytes sent per partition per request",
    "record-send-rate": "Records sent",
    "records-per-request": "Records sent per request",
    "compression-ratio": "Compression ratio times 100 of record batches",
    "request-rate": "Produce requests sent",
    "request-size": "Produce request size in bytes",
    "request-latency-in-ms": "Produce request latency in ms",
    "response-rate": "Produce responses received",
    "outgoing-byte-rate": "Bytes of produce requests written",
    "requests-in-flight": "Produce requests awaiting a response",
}
_SPLIT = re.compile(r"^(?P<base>.+?)-for-(?P<kind>topic|broker)-(?P<value>.+)$")
_QUANTILES = {key: f"{p:g}" for key, p in PERCENTILES}


class ProducerCollector:
    """Exposes one producer's metrics (an :class:`AsyncProducer` or :class:`SyncProducer`)
    to ``prometheus_client``; ``labels`` are added to every sample (tell two producers
    apart with them)."""

    def __init__(self, producer: AsyncProducer | SyncProducer, namespace: str = "sarama",
                 labels: Mapping[str, str] | None = None) -> None:
        if not isinstance(producer, AsyncProducer | SyncProducer):
            raise TypeError("ProducerCollector needs an AsyncProducer or SyncProducer, "
                            f"not {type(producer).__name__}")
        self._producer = producer
        self._namespace = namespace
        self._labels = dict(labels or {})

    def collect(self) -> Iterator[Metric]:
        """The families of the producer's metrics now (prometheus_client's protocol)."""
        registry = self._producer._metrics_registry()
        snapshot = registry.snapshot(sums=True)
        kinds = registry.kinds()  # after the snapshot: it knows every name in it
        families: dict[str, Metric] = {}
        for name, values in snapshot.items():
            match = _SPLIT.match(name)
            base, labels = name, dict(self._labels)
            if match:
                base = match["base"]
                labels[match["kind"]] = match["value"]
            family = f"{self._namespace}_{base.replace('-', '_')}"
            if match:
                family += f"_by_{match['kind']}"
            kind = kinds[name]
            metric = families.get(family)
            if metric is None:
                typ = {"meter": "counter", "histogram": "summary", "counter": "gauge"}[kind]
                metric = families[family] = Metric(family, _HELP.get(base, base), typ)
            _add_samples(metric, family, kind, values, labels)
        yield from families.values()


def _add_samples(metric: Metric, family: str, kind: str, values: dict[str, Any],
                 labels: dict[str, str]) -> None:
    if kind == "meter":
        metric.add_sample(family + "_total", labels, values["count"])
    elif kind == "counter":
        metric.add_sample(family, labels, values["count"])
    else:
        for key, quantile in _QUANTILES.items():
            metric.add_sample(family, {**labels, "quantile": quantile}, values[key])
        metric.add_sample(family + "_count", labels, values["count"])
        metric.add_sample(family + "_sum", labels, values["sum"])
