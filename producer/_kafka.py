"""The only module that imports kafka-python: the wire client and its error translation.

kafka-python's ``KafkaProducer`` does the batching, the connections (one per broker)
and the retries of a batch; this module maps our sarama-style :class:`Config` onto
its settings and its exceptions onto ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._config import Compression, Config, RequiredAcks, SASLMechanism
from ._errors import AuthenticationError, BrokerError, ConfigurationError, KafkaError
from ._preflight import check_security, default_ssl_context
from ._redact import install as install_redaction
from ._redact import register as register_secret

if TYPE_CHECKING:
    import kafka

__all__ = ["KafkaError", "appender", "client_settings", "new_client", "translate_error"]

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
    settings.update(_security_settings(config))
    return settings


def _security_settings(config: Config) -> dict[str, Any]:
    """``net.tls`` and ``net.sasl`` as kafka-python's ``security_protocol``, ``ssl_*``
    and ``sasl_*`` settings."""
    tls, sasl = config.net.tls, config.net.sasl
    protocol = {(False, False): "PLAINTEXT", (True, False): "SSL",
                (False, True): "SASL_PLAINTEXT", (True, True): "SASL_SSL"}
    settings: dict[str, Any] = {"security_protocol": protocol[(tls.enable, sasl.enable)]}
    if tls.enable:
        settings["ssl_context"] = tls.config if tls.config is not None else default_ssl_context()
    if sasl.enable:
        mechanism = SASLMechanism(sasl.mechanism)
        settings["sasl_mechanism"] = mechanism.value
        if mechanism is SASLMechanism.OAUTHBEARER:
            assert sasl.token_provider is not None  # validate() checked it
            settings["sasl_oauth_token_provider"] = _token_provider(sasl.token_provider)
        else:
            settings["sasl_plain_username"] = sasl.user
            settings["sasl_plain_password"] = sasl.password
            register_secret(sasl.password)
    return settings


def _token_provider(provide: Callable[[], str]) -> Any:
    """``net.sasl.token_provider`` as kafka-python's ``AbstractTokenProvider``.

    The callable runs on every authentication (as sarama's ``TokenProvider.Token``).
    If it raises or returns no token, the authentication fails as a wrong credential
    would, so the client reports it at once instead of reconnecting until its
    bootstrap timeout.
    """
    import kafka.errors as kerrors
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class TokenProvider(AbstractTokenProvider):  # type: ignore[misc]
        last_expiry: float | None = None  # the last token's "exp" claim, if it is a JWT

        def token(self) -> str:
            try:
                token = provide()
            except Exception as exc:
                raise kerrors.SaslAuthenticationFailedError(
                    f"net.sasl.token_provider raised {type(exc).__name__}") from exc
            if not isinstance(token, str) or not token:
                raise kerrors.SaslAuthenticationFailedError(
                    f"net.sasl.token_provider returned {type(token).__name__}, not a "
                    "non-empty str token")
            register_secret(token)
            self.last_expiry = _jwt_expiry(token)
            return token

        def __repr__(self) -> str:
            return f"<token provider {provide!r}>"

    return TokenProvider()


def new_client(addrs: Sequence[str], config: Config) -> kafka.KafkaProducer:
    """A connected ``KafkaProducer`` (it bootstraps eagerly).

    Raises:
        ConfigurationError: kafka-python rejected a setting (e.g. a missing codec).
        KafkaError: no broker answered within ``net.dial_timeout``.
    """
    # Imported here, not at module level: `import producer` (and so the pytest plugin
    # every user's test run loads) stays cheap; kafka-python takes ~0.25 s to import.
    import kafka
    import kafka.errors as kerrors

    install_redaction()
    settings = client_settings(addrs, config)
    check_security(addrs, config, settings)
    try:
        client = kafka.KafkaProducer(**settings)
    except (kerrors.KafkaConfigurationError, AssertionError, ValueError) as exc:
        raise ConfigurationError(f"the Kafka client rejected the settings: {exc}") from exc
    except (kerrors.SaslAuthenticationFailedError, kerrors.AuthorizationError,
            kerrors.UnsupportedSaslMechanismError) as exc:
        raise _authentication_error(exc, addrs, config) from None
    except kerrors.KafkaError as exc:
        raise KafkaError(f"kafka: client has run out of available brokers to talk to "
                         f"({', '.join(addrs)}): {exc}") from exc
    _align_with_sarama(client, config)
    return client


def _align_with_sarama(client: kafka.KafkaProducer, config: Config) -> None:
    """Fixes for kafka-python 3.0: two settings it takes but does not apply, and the
    idempotent producer's reset.

    Private attributes, hence the exact pin of kafka-python's minor version and the
    functional tests that check each of them on a real broker:

    - Partition muting (sarama v1.48+): at most one batch in flight per partition,
      so a retried batch cannot land behind a later one. kafka-python only turns it
      on for idempotence or ``max_in_flight_requests_per_connection=1``; other
      partitions still share the connection's ``net.max_open_requests``.
    - ``metadata.allow_auto_topic_creation``: kafka-python builds its cluster
      metadata without the producer's ``allow_auto_create_topics``, so metadata
      requests always asked the broker to create unknown topics.
    - Idempotence: after a producer id reset, request a new id (see
      :func:`_reinitialise_after_reset`).
    """
    sender = getattr(client, "_sender", None)
    metadata = getattr(client, "_metadata", None)
    if sender is None or "guarantee_message_order" not in getattr(sender, "config", {}):
        raise RuntimeError("this kafka-python version has no partition muting hook; "
                           "producer needs kafka-python 3.0.x")
    sender.config["guarantee_message_order"] = True
    if metadata is None or "allow_auto_create_topics" not in getattr(metadata, "config", {}):
        raise RuntimeError("this kafka-python version has no auto-creation hook; "
                           "producer needs kafka-python 3.0.x")
    metadata.config["allow_auto_create_topics"] = config.metadata.allow_auto_topic_creation
    manager = getattr(client, "_transaction_manager", None)
    if manager is not None:
        _reinitialise_after_reset(manager)


def _reinitialise_after_reset(manager: Any) -> None:
    """Make an idempotent producer ask for a new producer id after a reset.

    kafka-python 3.0.x resets the producer id when a batch it had already sent
    expires or fails for good, but leaves the manager in READY: ``init_producer_id()``
    only acts from UNINITIALIZED, so the sender waits for an id nobody requests and
    stops producing and expiring for good. Java's client (whose logic kafka-python
    ports) moves to UNINITIALIZED in the same reset; so do we, after kafka-python's own.
    """
    from kafka.producer.transaction_manager import TransactionState

    if manager.is_transactional() or not hasattr(manager, "_current_state"):
        return
    reset = manager.reset_producer_id

    def reset_and_reinitialise() -> None:
        reset()
        with manager._lock:
            if manager._current_state == TransactionState.READY:
                log.info("producer: producer id reset; requesting a new one")
                manager._current_state = TransactionState.UNINITIALIZED

    manager.reset_producer_id = reset_and_reinitialise


def appender(client: kafka.KafkaProducer) -> Callable[..., Any]:
    """``append(topic, partition, key, value, headers, timestamp_ms) -> future``: a
    record straight into kafka-python's accumulator, waking its sender as ``send`` does.

    ``KafkaProducer.send`` spends about a third of its time (~10 us a message) on work
    the dispatcher has already done: type and header checks, serializers, the
    partitioner, size estimates, metadata lookups, an eager ``str(self)`` for a debug
    log. This is the rest of it, for a producer that is neither closed nor
    transactional (ours never is); the accumulator itself refuses appends once closed.
    """
    from kafka.structs import TopicPartition

    accumulator = getattr(client, "_accumulator", None)
    sender = getattr(client, "_sender", None)
    if accumulator is None or sender is None or not hasattr(accumulator, "append"):
        raise RuntimeError("this kafka-python version has no record accumulator hook; "
                           "producer needs kafka-python 3.0.x")
    append_record = accumulator.append
    wakeup = sender.wakeup
    partitions: dict[tuple[str, int], TopicPartition] = {}

    def append(topic: str, partition: int, key: bytes | None, value: bytes | None,
               headers: list[tuple[str, bytes]] | None, timestamp_ms: int | None) -> Any:
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")  # kafka-python's rule
        tp = partitions.get((topic, partition))
        if tp is None:
            tp = partitions[(topic, partition)] = TopicPartition(topic, partition)
        future, batch_is_full, new_batch, _ = append_record(
            tp, timestamp_ms, key, value, headers or [])
        if batch_is_full or new_batch:
            wakeup()
        return future

    return append


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (None if ``token`` is not one), to explain a refusal."""
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        return float(exp) if isinstance(exp, int | float) else None
    except (ValueError, TypeError):
        return None


def _authentication_error(exc: BaseException, addrs: Sequence[str],
                          config: Config) -> AuthenticationError:
    """The client's failed authentication as cause and fix (never a credential)."""
    sasl = config.net.sasl
    mechanism = SASLMechanism(sasl.mechanism).value
    where = ", ".join(addrs)
    cause = exc.__cause__
    if cause is not None and "token_provider" in str(exc):
        return AuthenticationError(f"SASL {mechanism} to {where}: {exc} "
                                   f"({type(cause).__name__}: {cause}): fix the provider")
    if mechanism == SASLMechanism.OAUTHBEARER.value:
        fix = ("net.sasl.token_provider (sarama: Net.SASL.TokenProvider) must return a valid, "
               "unexpired token the broker accepts")
    else:
        fix = (f"check net.sasl.user and net.sasl.password (sarama: Net.SASL.User/Password): "
               f"the user must exist on the broker with {mechanism} credentials")
    return AuthenticationError(f"SASL {mechanism} authentication of user "
                               f"{sasl.user or '(token)'!r} to {where} failed "
                               f"({type(exc).__name__}: {exc}): {fix}")


def translate_error(exc: BaseException) -> BaseException:
    """A kafka-python exception as ours; others pass through."""
    import kafka.errors as kerrors

    if isinstance(exc, kerrors.KafkaError):
        name = type(exc).__name__
        text = str(exc) or getattr(exc, "description", "") or name
        if name not in text:
            text = f"{name}: {text}"
        err = BrokerError(text, retriable=bool(getattr(exc, "retriable", False)))
        err.__cause__ = exc
        return err
    return exc


def close_client(client: kafka.KafkaProducer, timeout: float, stop_within: float) -> None:
    """Close kafka-python's producer, never raising, and wait up to ``stop_within``
    seconds for its sender thread to end.

    Its ``close`` gives the sender ``timeout`` seconds, then forces it and returns
    without waiting; a forced sender still finishes the connection attempt it is in
    (up to a request timeout). Its ``close`` can also raise and leave the sender
    running (see the broker notes), hence the forced close here too.
    """
    try:
        client.close(timeout=timeout)
    except Exception as exc:  # any failure must still stop its thread
        log.warning("producer: closing the Kafka client failed (%s); forcing it closed", exc)
    sender = getattr(client, "_sender", None)
    if sender is not None and sender.is_alive():
        sender.force_close()
        sender.join(stop_within)
        if sender.is_alive():
            log.warning("producer: the Kafka client's sender thread did not stop within "
                        "%gs", stop_within)
