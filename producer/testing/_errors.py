"""Exceptions raised by the Kafka test harness."""

from __future__ import annotations


class KafkaHarnessError(RuntimeError):
    """Base class of every error raised by :mod:`producer.testing`."""


class BrokerStartError(KafkaHarnessError):
    """The broker (or the tools it needs) could not be started; the message says why."""


class JarFetchError(BrokerStartError):
    """The Kafka jars could not be fetched from Maven Central."""


class UnsupportedOperationError(KafkaHarnessError):
    """The operation needs a cluster this process started itself (e.g. killing a node)."""
