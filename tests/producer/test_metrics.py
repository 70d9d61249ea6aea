"""The metric kinds (producer/_metrics.py) against go-metrics' arithmetic, with a fake
clock: meters' counts and rates, histograms' sample statistics and percentiles,
the decaying reservoir, counters, and sarama's per-topic and per-broker names."""

from __future__ import annotations

import math
import statistics

import pytest

from producer._metrics import Counter, Histogram, Meter, Registry, for_broker, for_topic


def test_names_as_sarama_builds_them() -> None:
    assert for_broker("request-latency-in-ms", 3) == "request-latency-in-ms-for-broker-3"
    assert for_topic("batch-size", "orders.eu") == "batch-size-for-topic-orders_eu"


def test_meter_counts_and_mean_rate() -> None:
    m = Meter(100.0)
    m.mark(30, 100.5)
    m.mark(20, 101.0)
    snap = m.snapshot(110.0)
    assert snap["count"] == 50
    assert snap["mean.rate"] == pytest.approx(50 / 10.0)


def test_meter_moving_rates_follow_go_metrics_ewma() -> None:
    """First tick: the rate is the 5 s instant rate; each later tick r += a * (i - r)."""
    m = Meter(0.0)
    m.mark(500, 1.0)                 # 100/s over the first 5 s
    first = m.snapshot(5.0)
    assert first["1m.rate"] == pytest.approx(100.0)
    assert first["5m.rate"] == pytest.approx(100.0)
    m.mark(0, 6.0)
    later = m.snapshot(10.0)         # a second tick with no events
    a1 = 1 - math.exp(-5 / 60)
    a15 = 1 - math.exp(-5 / 900)
    assert later["1m.rate"] == pytest.approx(100.0 * (1 - a1))
    assert later["15m.rate"] == pytest.approx(100.0 * (1 - a15))
    idle = m.snapshot(10.0 + 5 * 12)  # 12 idle ticks at once: closed-form decay
    assert idle["1m.rate"] == pytest.approx(100.0 * (1 - a1) ** 13)
    assert idle["count"] == 500


def test_histogram_statistics_over_a_small_sample() -> None:
    h = Histogram(0.0)
    values = [5, 1, 9, 3, 7, 2, 8]
    for v in values:
        h.update(v, 1.0)
    snap = h.snapshot()
    assert snap["count"] == 7
    assert (snap["min"], snap["max"]) == (1, 9)
    assert snap["mean"] == pytest.approx(statistics.fmean(values))
    assert snap["stddev"] == pytest.approx(statistics.pstdev(values))
    # go-metrics' SamplePercentiles: pos = p * (n + 1), interpolated between neighbours
    ordered = sorted(values)
    assert snap["median"] == ordered[3]                       # pos 4.0
    assert snap["75%"] == ordered[5]                          # pos 6.0
    assert snap["95%"] == ordered[-1]                         # pos 7.6 >= n
    assert list(snap) == ["count", "min", "max", "mean", "stddev", "median", "75%", "95%",
                          "99%", "99.9%"]


def test_histogram_interpolates_between_neighbours() -> None:
    h = Histogram(0.0)
    for v in (10, 20, 30, 40):
        h.update(v, 0.0)
    assert h.snapshot()["median"] == pytest.approx(25.0)  # pos 2.5: 20 + 0.5 * 10


def test_histogram_sample_is_capped_and_biased_to_recent_values() -> None:
    """1028 values kept; after 10 minutes, new values crowd out old ones, as sarama's
    exponentially decaying reservoir (alpha 0.015) does."""
    h = Histogram(0.0)
    for i in range(5000):
        h.update(1, i * 0.001)        # old: value 1
    for i in range(5000):
        h.update(1000, 600 + i * 0.001)  # ten minutes later: value 1000
    snap = h.snapshot()
    assert snap["count"] == 10_000
    assert len(h._heap) == 1028
    assert snap["median"] == 1000
    assert snap["mean"] > 990


def test_histogram_rescales_after_an_hour_without_changing_the_sample() -> None:
    h = Histogram(0.0)
    for v in range(100):
        h.update(v, 10.0)
    before = h.snapshot()
    h.update(100, 3700.0)             # past the rescale threshold
    after = h.snapshot()
    assert after["count"] == 101 and after["max"] == 100
    assert after["min"] == before["min"]


def test_empty_histogram_and_counter() -> None:
    assert Histogram(0.0).snapshot()["count"] == 0
    c = Counter(0.0)
    c.inc(3)
    c.inc(-2)
    assert c.snapshot() == {"count": 1}


def test_registry_snapshot_is_sorted_and_typed() -> None:
    r = Registry()
    with r.lock():
        r.meter("record-send-rate", 0.0).mark(5, 0.0)
        r.histogram("batch-size", 0.0).update(100, 0.0)
        r.counter("requests-in-flight", 0.0).inc(1)
    snap = r.snapshot()
    assert list(snap) == ["batch-size", "record-send-rate", "requests-in-flight"]
    assert r.kinds() == {"batch-size": "histogram", "record-send-rate": "meter",
                         "requests-in-flight": "counter"}
    assert "sum" not in snap["batch-size"]
    assert r.snapshot(sums=True)["batch-size"]["sum"] == 100
    with r.lock(), pytest.raises(AssertionError):
        r.meter("batch-size", 0.0)  # one name, one kind
