"""The only module that imports kafka-python: the wire client, its hooks, its errors.

kafka-python's ``KafkaProducer`` does the batching, the connections (one per broker)
and the retries of a batch; this module maps our sarama-style :class:`Config` onto
its settings and its exceptions onto ours. It also holds every use of kafka-python's
private structures (the per-batch appender, the compiled record builder, partition
muting, refused batch splitting, the idempotent producer's reset): the dependency
is a tested range (``>=3.0.10,<3.1``), and tests/producer/test_kafka_adjustments.py
pins each hook without a broker, so an upgrade that moves one fails ``make test``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._compression import check_library
from ._config import Compression, Config, RequiredAcks, SASLMechanism
from ._errors import (
    AuthenticationError,
    BrokerError,
    ConfigurationError,
    KafkaError,
    ProducerFencedError,
    TransitionNotAllowedError,
    TxnUnableToParseResponseError,
)
from ._metrics import Registry, for_broker, for_topic
from ._preflight import check_security, default_ssl_context
from ._redact import install as install_redaction
from ._redact import register as register_secret

if TYPE_CHECKING:
    import kafka

__all__ = [
    "BatchSink",
    "KafkaError",
    "TxnClient",
    "appender",
    "client_settings",
    "fast_builder",
    "new_client",
    "record_metrics",
    "refuse_batch_splitting",
    "translate_error",
]

log = logging.getLogger("producer")


def attempt_timeout(config: Config) -> float:
    """Seconds one request may wait for its response: ``producer.timeout`` (the broker's
    wait for acknowledgements) or ``net.read_timeout``, whichever is smaller."""
    return min(config.producer.timeout, config.net.read_timeout)


def retry_wait(config: Config, retries: int) -> float:
    """Seconds to wait before retry number ``retries`` (1 for the first):
    ``producer.retry.backoff_func(retries, retry.max)`` when set, else ``retry.backoff``.
    A backoff function that fails or returns no number of seconds gets the fixed
    backoff (logged): a retry is never lost to it."""
    retry = config.producer.retry
    func = retry.backoff_func
    if func is None:
        return retry.backoff
    try:
        wait = func(retries, retry.max)
    except Exception:
        log.exception("producer: producer.retry.backoff_func(%d, %d) failed; waiting "
                      "producer.retry.backoff instead", retries, retry.max)
        return retry.backoff
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        log.error("producer: producer.retry.backoff_func(%d, %d) returned %r, not seconds; "
                  "waiting producer.retry.backoff instead", retries, retry.max, wait)
        return retry.backoff
    return float(wait)


def delivery_timeout(config: Config) -> float:
    """Seconds after which kafka-python gives up on a message: every attempt
    (``retry.max + 1``) may take :func:`attempt_timeout`, each followed by its backoff."""
    p = config.producer
    attempts = p.retry.max + 1
    if p.retry.backoff_func is None:
        backoffs = attempts * p.retry.backoff
    else:
        backoffs = sum(retry_wait(config, i) for i in range(1, attempts)) + p.retry.backoff
    return attempts * attempt_timeout(config) + backoffs + p.flush.frequency


# Go's net.Dialer uses a 15 s keep-alive period when sarama's Net.KeepAlive is 0.
GO_KEEP_ALIVE = 15.0
GO_KEEP_ALIVE_PROBES = 9


def socket_options(config: Config) -> list[tuple[int, int, int]]:
    """kafka-python's ``socket_options`` for ``net.keep_alive``: TCP_NODELAY (its
    default) and keep-alives with sarama's (Go's) period, or none when negative."""
    import socket

    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    keep_alive = config.net.keep_alive
    if keep_alive < 0:
        return [*options, (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)]
    options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    period = max(1, round(keep_alive or GO_KEEP_ALIVE))
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the system's period applies
        options += [(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, period),
                    (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, period),
                    (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, GO_KEEP_ALIVE_PROBES)]
    return options


def transaction_budget(config: Config) -> float:
    """Seconds a transaction request may take: ``producer.transaction.retry.max + 1``
    attempts of ``producer.timeout`` plus ``producer.transaction.retry.backoff``."""
    t = config.producer.transaction
    return (t.retry.max + 1) * (config.producer.timeout + t.retry.backoff)


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
        "request_timeout_ms": int(attempt_timeout(config) * 1000),
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
        "socket_options": socket_options(config),
        # Our sarama metrics (record_metrics) replace kafka-python's sensors, which cost
        # its network thread ~0.4 us per message and give only windowed averages.
        "metrics_enabled": False,
    }
    if p.transaction.id:
        settings["transactional_id"] = p.transaction.id
        settings["transaction_timeout_ms"] = int(p.transaction.timeout * 1000)
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
    check_library(Compression(config.producer.compression))
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
                         f"({', '.join(addrs)}): none answered within net.dial_timeout "
                         f"(sarama: Net.DialTimeout) = {config.net.dial_timeout:g}s: "
                         f"{exc}") from exc
    _align_with_sarama(client, config)
    refuse_batch_splitting(client)
    if config.producer.transaction.id:
        _init_transactions(client, config, addrs)
    return client


def _init_transactions(client: kafka.KafkaProducer, config: Config,
                       addrs: Sequence[str]) -> None:
    """InitProducerId for the transaction id (sarama's constructor does it too, and
    fails if it fails): fences older producers with the same id and aborts their open
    transaction. Closes the client on failure."""
    manager = getattr(client, "_transaction_manager", None)
    if manager is None or not hasattr(manager, "initialize_transactions"):
        raise RuntimeError("this kafka-python version has no transaction manager hook; "
                           "producer needs kafka-python 3.0.x")
    t = config.producer.transaction
    manager.retry_backoff_ms = int(t.retry.backoff * 1000)
    keep_requests_to_lost_coordinators(client)
    pace_transaction_retries(client)
    try:
        TxnClient(client, config).wait(manager.initialize_transactions(), "InitProducerId")
    except BaseException as exc:
        close_client(client, timeout=0.0, stop_within=config.producer.timeout)
        if isinstance(exc, KafkaError):
            raise KafkaError(f"kafka: the transactional producer "
                             f"{t.id!r} could not be initialised at {', '.join(addrs)}: "
                             f"{exc}") from exc
        raise


def keep_requests_to_lost_coordinators(client: kafka.KafkaProducer) -> None:
    """Make kafka-python's sender retry a transaction request whose coordinator it
    cannot reach, instead of dropping it.

    kafka-python 3.0.x's ``Sender._maybe_send_pending_request`` looks the coordinator
    up again when ``await_ready`` raises, but has already set ``target_node``, so it
    never re-enqueues the request: an EndTxn to a coordinator that died is lost and
    ``commit_txn()`` waits for ever (found with the coordinator SIGKILLed on the
    three-node cluster). Its other branch (``await_ready`` returning False) looks up
    and retries; so the sender's client answers False instead of raising. Only the
    sender's view changes (a proxy), and only for transactional producers.
    """
    import kafka.errors as kerrors

    sender = getattr(client, "_sender", None)
    inner: Any = getattr(sender, "_client", None)
    if inner is None or not callable(getattr(inner, "await_ready", None)) \
            or not callable(getattr(sender, "_maybe_send_pending_request", None)):
        raise RuntimeError("this kafka-python version has no transactional request hook; "
                           "producer needs kafka-python 3.0.x")

    class SenderClient:
        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        def await_ready(self, node_id: Any, timeout_ms: int = 30000) -> bool:
            try:
                return bool(inner.await_ready(node_id, timeout_ms=timeout_ms))
            except kerrors.KafkaConnectionError as exc:
                log.info("producer: %s; looking the coordinator up again", exc)
                return False

    assert sender is not None
    sender._client = SenderClient()


def pace_transaction_retries(client: kafka.KafkaProducer) -> None:
    """Wait each transaction request's own backoff before retrying it, as sarama does.

    kafka-python 3.0.x sleeps the producer's ``retry_backoff_ms`` before resending any
    transaction request, not the handler's backoff: ``producer.transaction.retry.backoff``
    and the 20 ms kafka-python (like sarama and Java) lowers it to for an
    AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS, which the first send of
    nearly every transaction gets while the broker still writes the previous one's
    markers. With the default 100 ms, a transaction of one message took ~110 ms
    instead of ~25. The sender's ``retry_backoff_ms`` only paces transaction requests
    (batches retry on the accumulator's own copy), so it follows the handler about to
    be sent.
    """
    manager = getattr(client, "_transaction_manager", None)
    sender = getattr(client, "_sender", None)
    config = getattr(sender, "config", None)
    if manager is None or not callable(getattr(manager, "next_request_handler", None)) \
            or not isinstance(config, dict) or "retry_backoff_ms" not in config:
        raise RuntimeError("this kafka-python version has no transactional retry hook; "
                           "producer needs kafka-python 3.0.x")
    pick = manager.next_request_handler

    def next_request_handler(has_incomplete_batches: bool) -> Any:
        handler = pick(has_incomplete_batches)
        if handler is not None:
            config["retry_backoff_ms"] = handler.retry_backoff_ms
        return handler

    manager.next_request_handler = next_request_handler


class TxnClient:
    """kafka-python's ``TransactionManager`` behind sarama's transaction calls: one
    per transactional producer. Its state is the single source of truth; our errors
    come out of it translated.

    Private kafka-python 3.0 structures (pinned by test_kafka_adjustments.py):
    ``KafkaProducer._transaction_manager`` (``_current_state``, ``_lock``,
    ``begin_transaction``, ``send_offsets_to_transaction``, ``begin_commit``,
    ``begin_abort``, ``transition_to_abortable_error``/``_fatal_error``,
    ``last_error``) and ``Sender.wakeup``.
    """

    # Errors after which the producer cannot go on (sarama's maybeTransitionToErrorState).
    FATAL = frozenset({"ProducerFencedError", "ClusterAuthorizationFailedError",
                       "TransactionalIdAuthorizationFailedError", "UnsupportedVersionError"})

    def __init__(self, client: kafka.KafkaProducer, config: Config) -> None:
        self._manager: Any = client._transaction_manager
        self._wakeup = client._sender.wakeup
        self._budget = transaction_budget(config)
        self._retries = config.producer.transaction.retry.max
        # An EndTxn whose answer a commit/abort stopped waiting for: (commit?, result).
        self._ending: tuple[bool, Any] | None = None

    def state(self) -> str:
        """kafka-python's ``TransactionState`` name."""
        return str(self._manager._current_state.name)

    def last_error(self) -> BaseException:
        """The error that put the manager in an error state, as ours."""
        err = self._manager.last_error
        if err is None:
            return TxnUnableToParseResponseError()
        return translate_error(err)

    def begin(self) -> None:
        try:
            self._manager.begin_transaction()
        except Exception as exc:
            raise translate_error(exc) from exc

    def send_offsets(self, offsets: dict[tuple[str, int], tuple[int, str | None]],
                     group: Any) -> None:
        """AddOffsetsToTxn + TxnOffsetCommit for ``group`` (our ConsumerGroupMetadata:
        with a member identity the broker fences a stale member, KIP-447); waits for
        both."""
        from kafka.structs import ConsumerGroupMetadata, OffsetAndMetadata, TopicPartition

        converted = {TopicPartition(topic, partition): OffsetAndMetadata(offset, meta or "", -1)
                     for (topic, partition), (offset, meta) in offsets.items()}
        theirs = ConsumerGroupMetadata(group.group_id, group.generation_id, group.member_id,
                                       group.group_instance_id)
        try:
            result = self._manager.send_offsets_to_transaction(converted, theirs)
        except Exception as exc:
            raise translate_error(exc) from exc
        self.wait(result, "AddOffsetsToTxn/TxnOffsetCommit")

    def end(self, commit: bool) -> None:
        """EndTxn (commit or abort) and wait for it; a call after one that ran out of
        time waits for the same request again."""
        if self._ending is not None:
            pending_commit, result = self._ending
            if pending_commit != commit:
                raise TransitionNotAllowedError(
                    f"transaction manager: invalid transition attempted: "
                    f"{'a commit' if pending_commit else 'an abort'} is still in progress")
        else:
            try:
                result = (self._manager.begin_commit() if commit
                          else self._manager.begin_abort())
            except Exception as exc:
                raise translate_error(exc) from exc
            self._ending = (commit, result)
        self.wait(result, "EndTxn")
        self._ending = None

    def wait_ready(self) -> None:
        """Wait (at most the retry budget) while an epoch bump is under way."""
        deadline = time.monotonic() + self._budget
        while self.state() in ("INITIALIZING", "BUMPING_PRODUCER_EPOCH"):
            if time.monotonic() > deadline:
                raise BrokerError(f"transaction manager: the producer epoch bump did not "
                                  f"complete within {self._budget:g}s", retriable=True)
            time.sleep(0.01)

    def wait(self, result: Any, what: str) -> None:
        """Wait for a transaction request's result, at most the retry budget."""
        self._wakeup()
        try:
            done = result.wait(timeout_ms=self._budget * 1000)
        except Exception as exc:
            self._ending = None
            raise translate_error(exc) from exc
        if not done:
            raise BrokerError(
                f"transaction manager: no answer to {what} within {self._budget:g}s "
                f"(producer.transaction.retry.max + 1 = {self._retries + 1} attempts of "
                f"producer.timeout + producer.transaction.retry.backoff); the Kafka client "
                f"keeps trying: call again to wait more", retriable=True)

    def fail(self, exc: BaseException) -> BaseException:
        """A message of the open transaction failed: the transaction must abort
        (fatal for fencing and authorisation errors), as sarama's ``returnError``;
        kafka-python leaves the state alone for a retriable error it gave up on.
        Returns the error to report for the message: a produce refused for an old
        epoch means a newer producer with our transaction id fenced this one, so it
        is reported as fencing (Java normalises it the same way)."""
        import kafka.errors as kerrors
        from kafka.producer.transaction_manager import TransactionState

        manager = self._manager
        raw = exc.__cause__ if isinstance(exc, BrokerError) and exc.__cause__ else exc
        if isinstance(raw, kerrors.InvalidProducerEpochError):
            exc = raw = kerrors.ProducerFencedError(
                "the broker refused the produce for an old producer epoch")
        with manager._lock:
            state = manager._current_state
            if state != TransactionState.FATAL_ERROR:
                if type(raw).__name__ in self.FATAL:
                    manager.transition_to_fatal_error(exc)
                elif state in (TransactionState.IN_TRANSACTION,
                               TransactionState.COMMITTING_TRANSACTION):
                    manager.transition_to_abortable_error(exc)
        self._wakeup()
        return exc


def _align_with_sarama(client: kafka.KafkaProducer, config: Config) -> None:
    """Fixes for kafka-python 3.0: settings it takes but does not apply, sarama settings
    it has no setting for, and the idempotent producer's reset.

    Private attributes: hence the tested range of kafka-python (3.0.x, not an exact
    pin), the broker-less tests in tests/producer/test_kafka_adjustments.py that fail
    at once when an upgrade moves one, and the functional tests that check each
    effect on a real broker:

    - Partition muting (sarama v1.48+): at most one batch in flight per partition,
      so a retried batch cannot land behind a later one. kafka-python only turns it
      on for idempotence or ``max_in_flight_requests_per_connection=1``; other
      partitions still share the connection's ``net.max_open_requests``.
    - ``metadata.allow_auto_topic_creation``: kafka-python builds its cluster
      metadata without the producer's ``allow_auto_create_topics``, so metadata
      requests always asked the broker to create unknown topics.
    - Idempotence: after a producer id reset, request a new id (see
      :func:`_reinitialise_after_reset`).
    - ``producer.timeout`` is the broker's wait in each produce request, while the
      connections' deadline is :func:`attempt_timeout` (kafka-python uses one setting,
      ``request_timeout_ms``, for both).
    - ``producer.retry.backoff_func``: see :func:`_backoff_by_func`.
    - ``metadata.full``: see :func:`_full_metadata`.
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
    if "request_timeout_ms" not in sender.config:
        raise RuntimeError("this kafka-python version has no produce timeout hook; "
                           "producer needs kafka-python 3.0.x")
    sender.config["request_timeout_ms"] = int(config.producer.timeout * 1000)
    if config.producer.retry.backoff_func is not None:
        _backoff_by_func(client, config)
    if config.metadata.full:
        _full_metadata(metadata)
    manager = getattr(client, "_transaction_manager", None)
    if manager is not None:
        _reinitialise_after_reset(manager)


def _backoff_by_func(client: kafka.KafkaProducer, config: Config) -> None:
    """Wait :func:`retry_wait` before each retry of a batch.

    kafka-python re-enqueues a failed batch with ``batch.retry()``, which stamps
    ``last_attempt``, and sends it again once ``last_attempt + retry_backoff_ms`` has
    passed (``RecordAccumulator.ready`` and ``drain``). Moving ``last_attempt`` by the
    difference makes that wait ``backoff_func(attempts, retry.max)``. Both run on its
    network thread, so no lock is needed.
    """
    accumulator = getattr(client, "_accumulator", None)
    reenqueue = getattr(accumulator, "reenqueue", None)
    if accumulator is None or reenqueue is None or "retry_backoff_ms" not in accumulator.config:
        raise RuntimeError("this kafka-python version has no retry backoff hook; "
                           "producer needs kafka-python 3.0.x")
    fixed = accumulator.config["retry_backoff_ms"] / 1000

    def reenqueue_with_backoff(batch: Any, now: float | None = None) -> None:
        reenqueue(batch, now=now)
        batch.last_attempt += retry_wait(config, batch.attempts) - fixed

    accumulator.reenqueue = reenqueue_with_backoff


def _full_metadata(metadata: Any) -> None:
    """``metadata.full``: each metadata request asks for every topic (kafka-python's
    ``need_all_topic_metadata``, which its consumer uses), except while a topic the
    producer asked for is unknown: then only the topics it uses, by name, so that the
    broker may auto-create the new one (a request for all topics creates none).
    """
    request = getattr(metadata, "metadata_request", None)
    if request is None or not all(hasattr(metadata, a) for a in
                                  ("need_all_topic_metadata", "_topics", "_partitions")):
        raise RuntimeError("this kafka-python version has no full metadata hook; "
                           "producer needs kafka-python 3.0.x")

    def full_or_missing() -> Any:
        known = metadata._partitions
        metadata.need_all_topic_metadata = all(t in known for t in list(metadata._topics))
        return request()

    metadata.metadata_request = full_or_missing


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


class BatchSink(Protocol):
    """Our side of one kafka-python batch (see :func:`appender`)."""

    items: list[Any]  # one per record, in record order: item i is the batch's record i

    def completed(self, result: tuple[int, int, Callable[[int], BaseException] | None]) -> None:
        """kafka-python's ``ProducerBatch.produce_future`` value: ``(base_offset,
        log_append_time_ms, record_exceptions_fn)``; ``record_exceptions_fn`` is ``None``
        on success, else record i's exception is ``record_exceptions_fn(i)``."""


_NO_HEADERS: list[tuple[str, bytes]] = []  # shared, never written

# The compiled builder for uncompressed, non-transactional batches; None: kafka-python's.
_FAST_BUILDER: Any = None
_FAST_BUILDER_LOADED = False
NO_ACCELERATOR_ENV = "PRODUCER_NO_ACCELERATOR"


def fast_builder() -> Any:
    """The compiled record batch builder class (aiokafka's ``_crecords``, adapted to
    kafka-python's ``set_producer_state``), or ``None``: not installed, or
    ``PRODUCER_NO_ACCELERATOR=1`` in the environment. Then kafka-python's pure-Python
    builder writes every batch."""
    global _FAST_BUILDER, _FAST_BUILDER_LOADED
    if not _FAST_BUILDER_LOADED:
        _FAST_BUILDER_LOADED = True
        if os.environ.get(NO_ACCELERATOR_ENV, "") not in ("", "0"):
            log.info("producer: %s is set: kafka-python's pure-Python record builder",
                     NO_ACCELERATOR_ENV)
        else:
            _FAST_BUILDER = _load_fast_builder()
    return _FAST_BUILDER


def _load_fast_builder() -> Any:
    try:
        from aiokafka.record._crecords import DefaultRecordBatchBuilder
    except ImportError:
        return None

    class CompiledBuilder(DefaultRecordBatchBuilder):  # type: ignore[misc]
        """aiokafka's compiled builder with kafka-python's ``set_producer_state``."""

        def set_producer_state(self, producer_id: int, producer_epoch: int,
                               base_sequence: int, is_transactional: bool = False) -> None:
            if is_transactional:  # never ours; its flag would be missing from the batch
                raise ValueError("the compiled record builder is not for transactions")
            DefaultRecordBatchBuilder.set_producer_state(
                self, producer_id, producer_epoch, base_sequence)

    return CompiledBuilder


def appender(client: kafka.KafkaProducer, open_batch: Callable[[str, int], BatchSink],
             compress: Callable[[bytes], bytes] | None = None, max_records: int = 0,
             ) -> tuple[Callable[..., None], Callable[[BatchSink], None]]:
    """``(append, seal)``: records straight into kafka-python's accumulator, one
    completion per batch instead of a future per record.

    ``append(topic, partition, key, value, headers, timestamp_ms, item)`` writes one
    record, under the accumulator's partition lock, into the partition's open batch,
    or into a new one for which it calls ``open_batch(topic, partition)`` and
    registers that sink's ``completed`` on the batch's ``produce_future``. ``item``
    joins the sink's ``items`` under the same lock, so it is there before the batch
    can be sent. It wakes the sender as ``send`` does (new or full batch).

    ``seal(sink)`` makes later appends start a new batch (the expiry backstop fails
    a sink's items; nothing may join it after that).

    Uncompressed batches are written by the compiled builder when it is installed
    (:func:`fast_builder`); compressed ones by kafka-python's builder, which compresses
    with ``compress`` (the codec at ``producer.compression_level``, see
    :func:`producer._compression.compressor`) when given, else with its own encoder.

    ``max_records`` (0: no limit) is ``producer.flush.messages`` or ``.max_messages``:
    a batch holding that many records is sealed and ready at once, whatever its
    linger (kafka-python's ``ready()`` sends a batch whose ``is_full()``; setting the
    builder's ``_batch_size`` to 0 makes it so without closing it, which the
    idempotent producer's sequence numbers need to happen at drain time).

    Private kafka-python 3.0 structures (each pinned by tests/producer/
    test_kafka_adjustments.py): ``RecordAccumulator._tp_lock``, ``._batches``,
    ``._incomplete``, ``._closed``, ``.config``; ``ProducerBatch`` and its
    ``produce_future``; ``MemoryRecordsBuilder`` and its ``_builder`` (where the
    compiled builder goes); ``Sender.wakeup``. ``KafkaProducer.send`` is not used:
    about a third of its cost is work the dispatcher has done already, and its
    per-record future and callbacks cost more than the rest of a record.
    """
    from kafka.errors import IllegalStateError
    from kafka.producer.producer_batch import ProducerBatch
    from kafka.record.memory_records import MemoryRecordsBuilder
    from kafka.structs import TopicPartition

    accumulator = getattr(client, "_accumulator", None)
    sender = getattr(client, "_sender", None)
    if (accumulator is None or sender is None
            or not all(hasattr(accumulator, a) for a in
                       ("_tp_lock", "_batches", "_incomplete", "_closed", "config"))):
        raise RuntimeError("this kafka-python version has no record accumulator hook; "
                           "producer needs kafka-python 3.0.x")
    config = accumulator.config
    magic = config["message_version"]
    compression = config["compression_attrs"]
    batch_size = config["batch_size"]
    compiled = fast_builder() if magic == 2 and compression == 0 else None
    manager = config.get("transaction_manager")
    # A transactional producer registers each partition it writes to with the
    # transaction (AddPartitionsToTxn, sent by kafka-python's sender before the batch)
    # as KafkaProducer.send does; once per new batch, under the partition lock.
    add_partition = None
    if manager is not None and manager.is_transactional():
        compiled = None  # its batches carry the transactional flag
        add_partition = manager.maybe_add_partition_to_transaction
    if magic == 2 and compression != 0 and compress is not None:
        # kafka-python's own builder with our codec: transactional batches included
        compiled = _leveled_builder(compress)
    if "_batch_size" not in getattr(MemoryRecordsBuilder, "__slots__", ()):
        raise RuntimeError("this kafka-python version has no batch size hook; "
                           "producer needs kafka-python 3.0.x")
    limit = max_records or 1 << 62
    tp_lock = accumulator._tp_lock
    batches = accumulator._batches
    incomplete = accumulator._incomplete
    wakeup = sender.wakeup
    # (topic, partition) -> [TopicPartition, its lock, our last batch, its sink]
    open_: dict[tuple[str, int], list[Any]] = {}

    def append(topic: str, partition: int, key: bytes | None, value: bytes | None,
               headers: list[tuple[str, bytes]] | None, timestamp_ms: int | None,
               item: Any) -> None:
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")  # kafka-python's rule
        entry = open_.get((topic, partition))
        if entry is None:
            tp = TopicPartition(topic, partition)
            entry = open_[(topic, partition)] = [tp, tp_lock(tp), None, None]
        tp, lock, batch, sink = entry
        with lock:
            dq = batches[tp]
            if batch is not None and dq and dq[-1] is batch:
                records = batch.records
                if records.append(timestamp_ms, key, value, headers or _NO_HEADERS) is not None:
                    items = sink.items
                    items.append(item)
                    if len(items) >= limit:
                        records._batch_size = 0  # is_full(): ready now (flush.messages)
                        entry[2] = entry[3] = None  # and the next record starts a new batch
                        wakeup()
                    elif len(dq) > 1 or records.is_full():
                        wakeup()
                    return
            if accumulator._closed:
                raise IllegalStateError("RecordAccumulator is closed")
            if add_partition is not None:
                add_partition(tp)
            records = MemoryRecordsBuilder(magic, compression, batch_size)
            if compiled is not None:
                records._builder = compiled(magic, compression, 0, -1, -1, -1, batch_size)
            if records.append(timestamp_ms, key, value, headers or _NO_HEADERS) is None:
                raise ValueError("the record does not fit in an empty batch")
            batch = ProducerBatch(tp, records)
            sink = open_batch(topic, partition)
            sink.items.append(item)
            batch.produce_future.add_callback(sink.completed)
            dq.append(batch)
            incomplete.add(batch)
            if limit > 1:
                entry[2] = batch
                entry[3] = sink
            else:  # one record per batch: full already
                records._batch_size = 0
                entry[2] = entry[3] = None
        wakeup()

    def seal(sink: BatchSink) -> None:
        for entry in list(open_.values()):
            if entry[3] is sink:
                with entry[1]:
                    if entry[3] is sink:
                        entry[2] = entry[3] = None

    return append, seal


def _leveled_builder(compress: Callable[[bytes], bytes]) -> Callable[..., Any]:
    """kafka-python's record batch builder, compressing with ``compress`` instead of
    its own encoder (which takes no level), called as the compiled builder is."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    class LeveledBuilder(DefaultRecordBatchBuilder):  # type: ignore[misc]
        __slots__ = ()

        def _maybe_compress(self) -> bool:
            # As kafka-python's: compress the records after the header, and send them
            # uncompressed when that does not make them smaller.
            header_size = self.HEADER_STRUCT.size
            records = bytes(self._buffer[header_size:])
            compressed = compress(records)
            if len(compressed) >= len(records):
                return False
            del self._buffer[header_size:]
            self._buffer += compressed
            return True

    def build(magic: int, compression: int, is_transactional: int, producer_id: int,
              producer_epoch: int, base_sequence: int, batch_size: int) -> Any:
        return LeveledBuilder(magic, compression, bool(is_transactional), producer_id,
                              producer_epoch, base_sequence, batch_size)

    return build


def record_metrics(client: kafka.KafkaProducer, registry: Registry, client_id: str) -> None:
    """Feed sarama's producer and broker metrics into ``registry``, per produce request.

    Three of the sender's methods are wrapped (kafka-python 3.0, pinned by
    tests/producer/test_kafka_adjustments.py): ``_create_produce_requests`` (one call
    per send loop, ``{node_id: [ProducerBatch]}``, retried batches included, as sarama
    counts re-encoded records again) and the request's two outcomes,
    ``_handle_produce_response`` (which gets the send time) and ``_failed_produce``.
    Only produce requests are counted (sarama's broker metrics count every request);
    a request's size is its record batches plus the protocol framing around them.
    """
    import time

    sender = getattr(client, "_sender", None)
    if sender is None or not all(callable(getattr(sender, name, None)) for name in (
            "_create_produce_requests", "_handle_produce_response", "_failed_produce")):
        raise RuntimeError("this kafka-python version has no produce request hook; "
                           "producer needs kafka-python 3.0.x")
    create = sender._create_produce_requests
    handled = sender._handle_produce_response
    failed = sender._failed_produce
    txn_id = sender.config.get("transactional_id") or ""
    # Produce request v3-v8 framing: size, api key and version, correlation id, client
    # id, transactional id, acks, timeout, topic count.
    request_base = 4 + 2 + 2 + 4 + 2 + len(client_id.encode()) + 2 + len(txn_id) + 2 + 4 + 4
    lock = registry.lock()
    monotonic = time.monotonic
    record_request = _RequestMetrics(registry, request_base).record

    def create_requests(collated: dict[int, list[Any]]) -> dict[int, Any]:
        requests: dict[int, Any] = create(collated)
        now = monotonic()
        with lock:
            for node_id, batches in collated.items():
                if batches:
                    record_request(now, node_id, batches)
        return requests

    def handle_response(node_id: int, send_time: float, batches: Any, response: Any) -> None:
        latency_ms = int((monotonic() - send_time) * 1000)
        now = monotonic()
        with lock:
            for name in ("request-latency-in-ms", for_broker("request-latency-in-ms", node_id)):
                registry.histogram(name, now).update(latency_ms, now)
            for name in ("response-rate", for_broker("response-rate", node_id)):
                registry.meter(name, now).mark(1, now)
            for name in ("requests-in-flight", for_broker("requests-in-flight", node_id)):
                registry.counter(name, now).inc(-1)
        handled(node_id, send_time, batches, response)

    def failed_produce(batches: Any, node_id: int, error: Any) -> None:
        now = monotonic()
        with lock:
            for name in ("requests-in-flight", for_broker("requests-in-flight", node_id)):
                registry.counter(name, now).inc(-1)
        failed(batches, node_id, error)

    sender._create_produce_requests = create_requests
    sender._handle_produce_response = handle_response
    sender._failed_produce = failed_produce


_HEADER = 61  # bytes of a record batch's header (v2), before its records


class _RequestMetrics:
    """Records one produce request's metrics; the metric objects of each topic and
    broker are looked up once. Call with the registry's lock held."""

    def __init__(self, registry: Registry, request_base: int) -> None:
        self._registry = registry
        self._base = request_base
        self._topics: dict[str, tuple[Any, ...]] = {}
        self._brokers: dict[int, tuple[Any, ...]] = {}
        self._all: tuple[Any, ...] | None = None

    def _topic(self, topic: str, now: float) -> tuple[Any, ...]:
        r = self._registry
        found = self._topics[topic] = (
            r.histogram(for_topic("batch-size", topic), now),
            r.histogram(for_topic("compression-ratio", topic), now),
            r.meter(for_topic("record-send-rate", topic), now),
            r.histogram(for_topic("records-per-request", topic), now),
            2 + len(topic.encode()) + 4,  # the topic's framing: name, partition count
        )
        return found

    def _broker(self, node_id: int, now: float) -> tuple[Any, ...]:
        r = self._registry
        found = self._brokers[node_id] = tuple(
            make(name, now) for make, name in (
                (r.meter, "request-rate"), (r.meter, "outgoing-byte-rate"),
                (r.histogram, "request-size"), (r.counter, "requests-in-flight"),
                (r.meter, for_broker("request-rate", node_id)),
                (r.meter, for_broker("outgoing-byte-rate", node_id)),
                (r.histogram, for_broker("request-size", node_id)),
                (r.counter, for_broker("requests-in-flight", node_id))))
        return found

    def record(self, now: float, node_id: int, batches: list[Any]) -> None:
        r = self._registry
        if self._all is None:
            self._all = (r.histogram("batch-size", now), r.histogram("compression-ratio", now),
                         r.meter("record-send-rate", now),
                         r.histogram("records-per-request", now))
        batch_size_all, ratio_all, send_rate_all, per_request_all = self._all
        total = 0
        size = self._base
        per_topic: dict[str, int] = {}
        for batch in batches:
            records = batch.records
            stored = len(records.buffer())
            topic = batch.topic_partition.topic
            metrics = self._topics.get(topic) or self._topic(topic, now)
            count = batch.record_count
            if topic in per_topic:
                per_topic[topic] += count
            else:
                per_topic[topic] = count
                size += metrics[4]
            total += count
            batch_size = stored + 8  # the partition's entry: index, length, records
            size += batch_size
            batch_size_all.update(batch_size, now)
            metrics[0].update(batch_size, now)
            written = getattr(records, "_bytes_written", 0)
            if stored > _HEADER and written > _HEADER:
                ratio = int((written - _HEADER) / (stored - _HEADER) * 100)
                ratio_all.update(ratio, now)
                metrics[1].update(ratio, now)
        for topic, count in per_topic.items():
            metrics = self._topics[topic]
            metrics[2].mark(count, now)
            metrics[3].update(count, now)
        send_rate_all.mark(total, now)
        per_request_all.update(total, now)
        broker = self._brokers.get(node_id) or self._broker(node_id, now)
        for rate, out, sizes, in_flight in (broker[:4], broker[4:]):
            rate.mark(1, now)
            out.mark(size, now)
            sizes.update(size, now)
            in_flight.inc(1)


def refuse_batch_splitting(client: kafka.KafkaProducer) -> None:
    """kafka-python splits a batch the broker finds too large and re-binds each
    record's future to the halves; with one completion per batch there are no such
    futures, so the batch fails instead (sarama fails MessageSizeTooLarge as well)."""
    sender = getattr(client, "_sender", None)
    if sender is None or not callable(getattr(sender, "_can_split", None)):
        raise RuntimeError("this kafka-python version has no batch splitting hook; "
                           "producer needs kafka-python 3.0.x")
    sender._can_split = lambda batch, error: False


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


# What to do about a broker error, by kafka-python's class name: added to its text.
_HINTS = {
    "MessageSizeTooLargeError": (
        "the message is too large: it must fit both "
        "producer.max_message_bytes (sarama: Producer.MaxMessageBytes) and the topic's "
        "max.message.bytes (the broker's message.max.bytes unless set on the topic); raise "
        "the topic's limit or send smaller messages"),
    "RecordListTooLargeError": (
        "the broker refused a batch as too large for the topic's segment size "
        "(segment.bytes); lower producer.flush.bytes or producer.max_message_bytes"),
    "InvalidTimestampError": (
        "the broker refused the message's timestamp (message.timestamp.*.max.ms on the "
        "topic or broker): ProducerMessage.timestamp is seconds since the epoch"),
    "ProducerFencedError": (
        "fenced: a newer producer with the same producer.transaction.id (sarama: "
        "Producer.Transaction.ID) has started, so this one may not write any more; close it"),
}


def translate_error(exc: BaseException) -> BaseException:
    """A kafka-python exception as ours (with a hint for the ones that need one);
    others pass through."""
    import kafka.errors as kerrors

    if isinstance(exc, kerrors.KafkaError):
        name = type(exc).__name__
        text = str(exc) or getattr(exc, "description", "") or name
        text = text.removesuffix(": None")  # kafka-python's text for an error without one
        if name not in text:
            text = f"{name}: {text}"
        hint = _HINTS.get(name)
        if hint is not None:
            text = f"{text}: {hint}"
        kind = ProducerFencedError if name == "ProducerFencedError" else BrokerError
        err = kind(text, retriable=bool(getattr(exc, "retriable", False)))
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
