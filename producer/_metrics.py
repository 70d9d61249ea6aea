"""sarama's producer metrics (its go-metrics registry): meters, histograms, counters.

The kinds behave as go-metrics' (rcrowley/go-metrics, which sarama uses):

- a **meter** counts events and gives rates per second: ``count``, ``1m.rate``,
  ``5m.rate``, ``15m.rate`` (exponentially weighted moving averages ticked every 5 s)
  and ``mean.rate`` (count / seconds since the meter was made);
- a **histogram** keeps a sample of 1028 values biased to the last ~5 minutes
  (forward-decaying priority reservoir, alpha 0.015, as sarama configures it) and
  gives ``count`` (every update) and, over the sample, ``min``, ``max``, ``mean``,
  ``stddev``, ``median``, ``75%``, ``95%``, ``99%``, ``99.9%``;
- a **counter** is a ``count`` that goes up and down.

:meth:`Registry.snapshot` returns ``{name: {key: value}}`` with exactly those keys,
the shape of go-metrics' ``Registry.GetAll()``. Updates come from the Kafka client's
network thread, a few per request (never per message); one lock guards the registry.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import time
from typing import Any

__all__ = ["Counter", "Histogram", "Meter", "Registry", "for_broker", "for_topic"]

_TICK = 5.0  # seconds between two EWMA ticks (go-metrics' meter arbiter)
_ALPHAS = {"1m.rate": 1 - math.exp(-_TICK / 60.0), "5m.rate": 1 - math.exp(-_TICK / 300.0),
           "15m.rate": 1 - math.exp(-_TICK / 900.0)}
_RESERVOIR = 1028  # sarama's metricsReservoirSize
_DECAY = 0.015  # sarama's metricsAlphaFactor
_RESCALE = 3600.0  # seconds between two rescalings of the priorities (go-metrics')
PERCENTILES = (("median", 0.5), ("75%", 0.75), ("95%", 0.95), ("99%", 0.99),
               ("99.9%", 0.999))


def for_broker(name: str, broker_id: int) -> str:
    """sarama's per-broker name: ``request-rate-for-broker-1``."""
    return f"{name}-for-broker-{broker_id}"


def for_topic(name: str, topic: str) -> str:
    """sarama's per-topic name, dots as underscores: ``batch-size-for-topic-a_b``."""
    return f"{name}-for-topic-{topic.replace('.', '_')}"


class Meter:
    """go-metrics' ``Meter``: a count, its mean rate and 1/5/15-minute moving rates.

    The moving averages tick lazily: every mark or snapshot first applies the 5 s
    ticks that have passed since the last one.
    """

    __slots__ = ("_last_tick", "_rates", "_start", "_uncounted", "count")

    def __init__(self, now: float) -> None:
        self.count = 0
        self._start = now
        self._last_tick = now
        self._uncounted = 0
        self._rates: dict[str, float | None] = dict.fromkeys(_ALPHAS)

    def mark(self, n: int, now: float) -> None:
        if now - self._last_tick >= _TICK:
            self._tick(now)
        self.count += n
        self._uncounted += n

    def _tick(self, now: float) -> None:
        ticks = int((now - self._last_tick) / _TICK)
        if ticks <= 0:
            return
        self._last_tick += ticks * _TICK
        instant = self._uncounted / _TICK
        self._uncounted = 0
        for key, alpha in _ALPHAS.items():
            rate = self._rates[key]
            rate = instant if rate is None else rate + alpha * (instant - rate)
            # The ticks after the first saw no events: the rate decays toward 0.
            self._rates[key] = rate * (1 - alpha) ** (ticks - 1)

    def snapshot(self, now: float) -> dict[str, float]:
        self._tick(now)
        elapsed = now - self._start
        out: dict[str, float] = {"count": self.count}
        for key in _ALPHAS:
            out[key] = self._rates[key] or 0.0
        out["mean.rate"] = self.count / elapsed if elapsed > 0 else 0.0
        return out


class Histogram:
    """go-metrics' ``Histogram`` over an exponentially decaying sample (sarama's)."""

    __slots__ = ("_heap", "_landmark", "_next_rescale", "_now", "_random", "_weight", "count",
                 "total")

    def __init__(self, now: float) -> None:
        self.count = 0
        self.total = 0  # the sum of every value (for Prometheus summaries)
        self._landmark = now
        self._next_rescale = now + _RESCALE
        self._heap: list[tuple[float, int]] = []  # (priority, value), lowest priority first
        self._random = random.random
        self._now = now  # the time _weight is for (updates of one request share it)
        self._weight = 1.0

    def update(self, value: int, now: float) -> None:
        if now != self._now:
            if now >= self._next_rescale:
                self._rescale(now)
            self._now = now
            self._weight = math.exp(_DECAY * (now - self._landmark))
        self.count += 1
        self.total += value
        priority = self._weight / (self._random() or 1e-300)
        heap = self._heap
        if len(heap) < _RESERVOIR:
            heapq.heappush(heap, (priority, value))
        elif priority > heap[0][0]:
            heapq.heapreplace(heap, (priority, value))

    def _rescale(self, now: float) -> None:
        factor = math.exp(-_DECAY * (now - self._landmark))
        self._heap = [(p * factor, v) for p, v in self._heap]
        heapq.heapify(self._heap)
        self._landmark = now
        self._next_rescale = now + _RESCALE

    def snapshot(self) -> dict[str, float]:
        values = sorted(v for _, v in self._heap)
        n = len(values)
        out: dict[str, float] = {"count": self.count}
        if not n:
            out.update({"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0})
            out.update(dict.fromkeys((k for k, _ in PERCENTILES), 0.0))
            return out
        mean = sum(values) / n
        out.update({"min": values[0], "max": values[-1], "mean": mean,
                    "stddev": math.sqrt(sum((v - mean) ** 2 for v in values) / n)})
        for key, p in PERCENTILES:  # go-metrics' SamplePercentiles
            pos = p * (n + 1)
            if pos < 1:
                out[key] = float(values[0])
            elif pos >= n:
                out[key] = float(values[-1])
            else:
                lower, upper = values[int(pos) - 1], values[int(pos)]
                out[key] = lower + (pos - math.floor(pos)) * (upper - lower)
        return out


class Counter:
    """go-metrics' ``Counter``."""

    __slots__ = ("count",)

    def __init__(self, now: float) -> None:
        self.count = 0

    def inc(self, n: int) -> None:
        self.count += n

    def snapshot(self) -> dict[str, float]:
        return {"count": self.count}


class Registry:
    """The metrics of one producer, by sarama's names, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _metrics and every metric in it
        self._metrics: dict[str, Meter | Histogram | Counter] = {}

    def lock(self) -> threading.Lock:
        """Held around a group of updates (see :meth:`meter` etc.)."""
        return self._lock

    def meter(self, name: str, now: float) -> Meter:
        """The meter ``name``; call with :meth:`lock` held."""
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics[name] = Meter(now)
        assert isinstance(metric, Meter)
        return metric

    def histogram(self, name: str, now: float) -> Histogram:
        """The histogram ``name``; call with :meth:`lock` held."""
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics[name] = Histogram(now)
        assert isinstance(metric, Histogram)
        return metric

    def counter(self, name: str, now: float) -> Counter:
        """The counter ``name``; call with :meth:`lock` held."""
        metric = self._metrics.get(name)
        if metric is None:
            metric = self._metrics[name] = Counter(now)
        assert isinstance(metric, Counter)
        return metric

    def kinds(self) -> dict[str, str]:
        """``{name: "meter" | "histogram" | "counter"}``."""
        with self._lock:
            return {name: type(m).__name__.lower() for name, m in self._metrics.items()}

    def snapshot(self, *, sums: bool = False) -> dict[str, dict[str, Any]]:
        """``{name: {key: value}}`` as go-metrics' ``GetAll()``, names sorted; with
        ``sums``, histograms also give ``sum``, the total of every value."""
        now = time.monotonic()
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for name in sorted(self._metrics):
                metric = self._metrics[name]
                if isinstance(metric, Meter):
                    out[name] = metric.snapshot(now)
                else:
                    out[name] = metric.snapshot()
                    if sums and isinstance(metric, Histogram):
                        out[name]["sum"] = metric.total
            return out
