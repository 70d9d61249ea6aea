"""The only module that imports kafka-python: the wire client and its error translation.

kafka-python's ``KafkaProducer`` does the batching, the connections (one per broker)
and the retries of a batch; this module maps our sarama-style :class:`Config` onto
its settings and its exceptions onto ours.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import kafka
import kafka.errors as kerrors

from ._config import Compression, Config, RequiredAcks
from ._errors import BrokerError, ConfigurationError, KafkaError

__all__ = ["KafkaError", "client_settings", "new_client", "translate_error"]

log = logging.getLogger("producer")


def delivery_timeout(config: Config) -> float:
    """Seconds after which kafka-python gives up on a message: every attempt
    (``retry.max + 1``) may take ``producer.timeout`` plus the backoff."""
    p = config.producer
    return (p.retry.max + 1) * (p.timeout + p.retry.backoff) + p.flush.frequency


def client_settings(addrs: Sequence[str], config: Config) -> dict[str, Any]:
    """kafka-python ``KafkaProducer`` settings equivalent to ``config``."""
    p = config.producer
    acks: Any = "all" if p.required_acks == RequiredAcks.WAIT_FOR_ALL else int(p.required_acks)
    codec = Compression(p.compression)
    settings: dict[str, Any] = {
        "bootstrap_servers": list(addrs),
        "client_id": config.client_id,
        "acks": acks,
        "enable_idempotence": bool(p.idempotent),
        "retries": p.retry.max,
        "retry_backoff_ms": int(p.retry.backoff * 1000),
        "request_timeout_ms": int(p.timeout * 1000),
        "delivery_timeout_ms": int(delivery_timeout(config) * 1000),
        "linger_ms": int(p.flush.frequency * 1000),
        "batch_size": p.flush.bytes or max(16384, min(p.max_message_bytes, 262144)),
        "max_request_size": max(p.max_message_bytes + 512, 1_048_576),
        "max_in_flight_requests_per_connection": config.net.max_open_requests,
        "compression_type": None if codec is Compression.NONE else codec.value,
        "metadata_max_age_ms": int(config.metadata.refresh_frequency * 1000),
        "allow_auto_create_topics": config.metadata.allow_auto_topic_creation,
        "max_block_ms": int(p.timeout * 1000),
        "bootstrap_timeout_ms": int(config.net.dial_timeout * 1000),
    }
    return settings


def new_client(addrs: Sequence[str], config: Config) -> kafka.KafkaProducer:
    """A connected ``KafkaProducer`` (it bootstraps eagerly).

    Raises:
        ConfigurationError: kafka-python rejected a setting (e.g. a missing codec).
        KafkaError: no broker answered within ``net.dial_timeout``.
    """
    try:
        return kafka.KafkaProducer(**client_settings(addrs, config))
    except (kerrors.KafkaConfigurationError, AssertionError, ValueError) as exc:
        raise ConfigurationError(f"the Kafka client rejected the settings: {exc}") from exc
    except kerrors.NoBrokersAvailable as exc:
        raise KafkaError(f"kafka: client has run out of available brokers to talk to "
                         f"({', '.join(addrs)}): {exc}") from exc
    except kerrors.KafkaTimeoutError as exc:
        raise KafkaError(f"kafka: client has run out of available brokers to talk to "
                         f"({', '.join(addrs)}): {exc}") from exc


def translate_error(exc: BaseException) -> BaseException:
    """A kafka-python exception as ours; others pass through."""
    if isinstance(exc, kerrors.KafkaError):
        name = type(exc).__name__
        text = str(exc) or getattr(exc, "description", "") or name
        if name not in text:
            text = f"{name}: {text}"
        err = BrokerError(text, retriable=bool(getattr(exc, "retriable", False)))
        err.__cause__ = exc
        return err
    return exc


def close_client(client: kafka.KafkaProducer, timeout: float) -> None:
    """Close kafka-python's producer, never raising: its ``close`` can raise and leave
    its sender running (see the broker notes), so fall back to a forced close."""
    try:
        client.close(timeout=timeout)
    except Exception as exc:  # any failure must still stop its thread
        log.warning("producer: closing the Kafka client failed (%s); forcing it closed", exc)
        sender = getattr(client, "_sender", None)
        if sender is not None:
            sender.force_close()
            sender.join(timeout)
