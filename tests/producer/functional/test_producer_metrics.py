"""``AsyncProducer.metrics()`` / ``SyncProducer.metrics()`` on the broker: sarama's names,
their per-topic and per-broker forms, figures that add up, and the Prometheus
collector scraped."""

from __future__ import annotations

import json

import pytest

from producer import AsyncProducer, Config, ProducerMessage, SyncProducer
from producer.testing import KafkaCluster

METERS = {"record-send-rate", "request-rate", "response-rate", "outgoing-byte-rate"}
HISTOGRAMS = {"batch-size", "records-per-request", "compression-ratio", "request-size",
              "request-latency-in-ms"}
METER_KEYS = {"count", "1m.rate", "5m.rate", "15m.rate", "mean.rate"}
HISTOGRAM_KEYS = {"count", "min", "max", "mean", "stddev", "median", "75%", "95%", "99%",
                  "99.9%"}


def _config(compression: str = "none") -> Config:
    config = Config()
    config.producer.return_successes = True
    config.producer.compression = compression
    return config


@pytest.mark.timeout(120)
def test_sarama_names_and_figures_that_add_up(kafka_cluster: KafkaCluster, new_topic) -> None:
    a, b = new_topic(partitions=2), new_topic()
    dotted = b.replace("-", ".", 1)  # sarama writes a topic's dots as underscores
    kafka_cluster.create_topic(dotted, 1)
    per_topic = {a: 1500, dotted: 500}
    [broker] = [n.node_id for n in kafka_cluster.brokers]
    with SyncProducer(kafka_cluster.bootstrap_servers, _config("gzip")) as p:
        assert p.metrics() == {}  # nothing sent yet
        for topic, n in per_topic.items():
            p.send_messages([ProducerMessage(topic, value=b"value %d " % i * 10)
                             for i in range(n)])
        m = p.metrics()

    names = set(m)
    for base in METERS | HISTOGRAMS | {"requests-in-flight"}:
        assert base in names
    for topic in per_topic:
        suffix = "-for-topic-" + topic.replace(".", "_")
        for base in ("batch-size", "record-send-rate", "records-per-request",
                     "compression-ratio"):
            assert base + suffix in names
    for base in ("request-rate", "request-size", "request-latency-in-ms", "response-rate",
                 "outgoing-byte-rate", "requests-in-flight"):
        assert f"{base}-for-broker-{broker}" in names
    for name, values in m.items():
        base = name.split("-for-")[0]
        want = METER_KEYS if base in METERS else HISTOGRAM_KEYS if base in HISTOGRAMS \
            else {"count"}
        assert set(values) == want, name
    json.dumps(m)  # plain numbers

    # Every record counted once (nothing retried), by topic too; one latency and one
    # response per request; nothing left in flight after close.
    assert m["record-send-rate"]["count"] == 2000
    for topic, n in per_topic.items():
        assert m["record-send-rate-for-topic-" + topic.replace(".", "_")]["count"] == n
    requests = m["request-rate"]["count"]
    assert requests == m[f"request-rate-for-broker-{broker}"]["count"] > 0
    assert m["records-per-request"]["count"] == requests
    assert m["request-latency-in-ms"]["count"] == m["response-rate"]["count"] == requests
    assert m["requests-in-flight"]["count"] == 0
    assert m[f"requests-in-flight-for-broker-{broker}"]["count"] == 0
    assert m["records-per-request"]["max"] <= 2000
    assert m["batch-size"]["count"] >= requests
    assert m["outgoing-byte-rate"]["count"] >= m["batch-size"]["count"] * m["batch-size"]["min"]
    # gzip on repetitive values: well over 1x (sarama's ratio is x100)
    assert m["compression-ratio"]["min"] > 100
    assert m["record-send-rate"]["mean.rate"] > 0


@pytest.mark.timeout(120)
def test_uncompressed_ratio_is_100_and_the_async_producer_has_them(
        kafka_cluster: KafkaCluster, new_topic) -> None:
    topic = new_topic()
    with AsyncProducer(kafka_cluster.bootstrap_servers, _config()) as p:
        for i in range(300):
            p.input().send(ProducerMessage(topic, value=b"%d" % i))
        for _ in range(300):
            p.successes().recv()
        m = p.metrics()
    assert m["record-send-rate"]["count"] == 300
    assert m["compression-ratio"]["min"] == m["compression-ratio"]["max"] == 100
    assert p.metrics()["requests-in-flight"]["count"] == 0  # also after close


@pytest.mark.timeout(120)
def test_prometheus_collector_is_scraped(kafka_cluster: KafkaCluster, new_topic) -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from producer.prometheus import ProducerCollector

    topic = new_topic()
    [broker] = [n.node_id for n in kafka_cluster.brokers]
    registry = CollectorRegistry()
    with SyncProducer(kafka_cluster.bootstrap_servers, _config()) as p:
        registry.register(ProducerCollector(p, labels={"producer": "orders"}))
        p.send_messages([ProducerMessage(topic, value=b"x") for _ in range(250)])
        text = generate_latest(registry).decode()

    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    orders = ("producer", "orders")
    assert families["sarama_record_send_rate"].type == "counter"
    assert samples[("sarama_record_send_rate_total", (orders,))] == 250
    label = topic.replace(".", "_")
    assert samples[("sarama_record_send_rate_by_topic_total",
                    (orders, ("topic", label)))] == 250
    assert families["sarama_request_latency_in_ms"].type == "summary"
    requests = samples[("sarama_request_rate_total", (orders,))]
    assert samples[("sarama_request_latency_in_ms_count", (orders,))] == requests
    assert ("sarama_request_latency_in_ms", (orders, ("quantile", "0.99"))) in samples
    assert samples[("sarama_requests_in_flight_by_broker",
                    (("broker", str(broker)), orders))] == 0
    assert families["sarama_requests_in_flight"].type == "gauge"
    assert samples[("sarama_records_per_request_sum", (orders,))] == 250


def test_collector_refuses_other_objects() -> None:
    from producer.prometheus import ProducerCollector

    with pytest.raises(TypeError, match="AsyncProducer or SyncProducer"):
        ProducerCollector(object())  # type: ignore[arg-type]
