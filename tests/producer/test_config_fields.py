"""Every ``Config`` field either works or is refused (issue 16): none is accepted and
ignored.

The test walks the whole tree (every dataclass reachable from :class:`Config`) and
requires an entry in :data:`FIELDS` for each leaf field:

- :class:`Works`: the tests that show the field's effect (on a real broker where it can
  be seen there), named ``path::test_function``; each must exist. This file does not run
  them: they run in their own suites.
- :class:`Refused`: a value ``validate()`` refuses with a :class:`ConfigurationError`
  naming the field and saying it is not supported (and what to use instead); checked
  here, without a broker.

A field may have both (it works for some values and is refused for others). Adding a
field to ``Config`` (``producer.transaction.*``, metrics settings, ...) fails
:func:`test_every_field_has_an_effect_test_or_a_refusal` until it gets its entry here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest

from producer import Compression, Config, ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Works:
    """The field does what sarama's does; ``tests`` show it."""

    tests: tuple[str, ...]

    def __init__(self, *tests: str) -> None:
        object.__setattr__(self, "tests", tests)


@dataclass(frozen=True)
class Refused:
    """``validate()`` refuses ``value`` (with ``also`` set first) for the field, in words
    matching ``says``."""

    value: Any
    also: dict[str, Any] = field(default_factory=dict)
    says: str = "is not supported"


Coverage = Works | Refused | tuple[Works | Refused, ...]

F = "tests/producer/functional/"
R = "tests/producer/reliability/"
EFFECTS = F + "test_config_effects.py::"
FAULTS = R + "test_timeouts_and_backoff.py::"
ADJUST = "tests/producer/test_kafka_adjustments.py::"

FIELDS: dict[str, Coverage] = {
    # -- producer
    "producer.max_message_bytes": Works(
        F + "test_producer_message_checks.py::test_message_too_large_for_the_topic_names_"
            "both_limits",
        R + "test_bad_input.py::test_bad_input"),
    "producer.required_acks": Works(
        FAULTS + "test_backoff_func_sets_the_time_between_attempts",  # NOT_ENOUGH_REPLICAS
        R + "test_broker_pause.py::test_paused_broker_idempotent_no_loss_no_duplicates"),
    "producer.timeout": Works(
        F + "test_producer_delivery.py::test_retries_when_the_leader_does_not_answer",
        ADJUST + "test_the_produce_request_carries_producer_timeout_and_the_connection_"
                 "read_timeout"),
    "producer.compression": Works(
        F + "test_producer_compression.py::test_codec_round_trip",
        EFFECTS + "test_gzip_level_changes_the_stored_batch"),
    "producer.compression_level": (
        Works(F + "test_producer_compression.py::test_compression_level_changes_what_the_"
                  "broker_stores",
              EFFECTS + "test_gzip_level_changes_the_stored_batch"),
        Refused(3, also={"producer.compression": Compression.SNAPPY},
                says="has no compression levels")),
    "producer.partitioner": Works(
        F + "test_producer_partitioning.py::test_key_partitioners_agree_with_sarama_on_the_broker",
        F + "test_producer_partitioning.py::test_round_robin_manual_and_nil_keys"),
    "producer.idempotent": Works(
        R + "test_broker_pause.py::test_paused_broker_idempotent_no_loss_no_duplicates",
        R + "test_leader_failover.py::test_leader_killed_idempotent_exactly_once"),
    "producer.return_successes": Works(
        F + "test_producer_blocking.py::test_unread_successes_stall_input_exactly"),
    "producer.return_errors": Works(
        F + "test_producer_blocking.py::test_unread_errors_stall_input"),
    "producer.flush.bytes": Works(EFFECTS + "test_flush_bytes_caps_each_batchs_bytes"),
    "producer.flush.messages": (
        Works(EFFECTS + "test_flush_messages_sends_each_batch_at_that_many_records",
              EFFECTS + "test_perf_flush_flags_shape_the_stored_batches"),
        Refused(10, says="is not supported without producer.flush.frequency")),
    "producer.flush.frequency": Works(
        EFFECTS + "test_flush_max_messages_caps_each_batch",  # [4, 4, 2]: the 2 lingered
        F + "test_producer_in_flight.py::test_input_of_an_object_in_flight_fails_it_without_"
            "disturbing_the_first"),
    "producer.flush.max_messages": Works(
        EFFECTS + "test_flush_max_messages_caps_each_batch",
        EFFECTS + "test_flush_max_messages_without_frequency_only_caps",
        EFFECTS + "test_perf_flush_flags_shape_the_stored_batches"),
    "producer.retry.max": Works(
        R + "test_broker_pause.py::test_paused_leader_small_retry_budget_fails_visibly",
        FAULTS + "test_backoff_func_sets_the_time_between_attempts"),
    "producer.retry.backoff": Works(FAULTS + "test_backoff_func_sets_the_time_between_attempts"),
    "producer.retry.backoff_func": (
        Works(FAULTS + "test_backoff_func_sets_the_time_between_attempts",
              ADJUST + "test_backoff_func_sets_the_wait_before_each_retry"),
        Refused(lambda retries, maximum: "1s", says="must return seconds")),
    "producer.retry.max_buffer_length": Refused(4096),
    "producer.retry.max_buffer_bytes": Refused(32 << 20),
    "producer.transaction.id": Works(
        F + "test_transactions.py::test_committed_once_aborted_never",
        F + "test_transactions.py::test_two_producers_one_id_the_older_is_fenced"),
    # reaches kafka-python's transaction_timeout_ms (the broker aborts after it); no test
    # on a broker waits for that abort yet
    "producer.transaction.timeout": Works(ADJUST + "test_transactional_settings"),
    "producer.transaction.retry.max": Works(
        ADJUST + "test_transaction_retry_settings_bound_the_wait_and_reach_the_manager"),
    "producer.transaction.retry.backoff": Works(
        ADJUST + "test_transaction_retry_settings_bound_the_wait_and_reach_the_manager"),
    "producer.interceptors": Works(
        R + "test_bad_input.py::test_bad_input",  # interceptor rows: logged, message sent
        "tests/test_readme.py::test_readme_example_runs"),  # StampOrigin adds a header
    # -- net
    "net.max_open_requests": Works(ADJUST + "test_max_open_requests_bounds_each_connection"),
    "net.dial_timeout": Works(
        R + "test_outage.py::test_nothing_listening_fails_within_dial_timeout"),
    "net.read_timeout": Works(
        FAULTS + "test_read_timeout_fails_a_stalled_request_before_producer_timeout"),
    "net.write_timeout": Refused(10.0),
    "net.keep_alive": Works(EFFECTS + "test_keep_alive_period_on_the_client_sockets"),
    "net.tls.enable": Works(F + "test_security.py::test_each_mechanism_produces_and_reads_back"),
    "net.tls.config": Works(
        F + "test_security.py::test_misconfigured_security_is_a_clear_error_at_the_constructor"),
    "net.sasl.enable": Works(F + "test_security.py::test_each_mechanism_produces_and_reads_back"),
    "net.sasl.mechanism": Works(
        F + "test_security.py::test_each_mechanism_produces_and_reads_back"),
    "net.sasl.user": Works(
        F + "test_security.py::test_alice_without_write_fails_per_message_while_her_topic_"
            "succeeds"),
    "net.sasl.password": Works(
        F + "test_security.py::test_misconfigured_security_is_a_clear_error_at_the_constructor"),
    "net.sasl.token_provider": Works(
        F + "test_security.py::test_token_provider_is_called_again_when_the_token_expires"),
    "net.sasl.handshake": Refused(False, also={"net.sasl.enable": True,
                                               "net.sasl.user": "u", "net.sasl.password": "p"},
                                  says="must be True"),
    # -- metadata
    "metadata.retry.max": Works(
        EFFECTS + "test_metadata_retry_sets_how_long_a_missing_topic_stays_failed"),
    "metadata.retry.backoff": Works(
        EFFECTS + "test_metadata_retry_sets_how_long_a_missing_topic_stays_failed"),
    "metadata.refresh_frequency": Works(EFFECTS + "test_refresh_frequency_brings_new_partitions"),
    "metadata.full": Works(EFFECTS + "test_metadata_full_knows_every_topic",
                           ADJUST + "test_full_metadata_asks_for_every_topic_unless_one_is_"
                                    "unknown"),
    "metadata.allow_auto_topic_creation": Works(
        F + "test_producer_delivery.py::test_unknown_topic_fails_without_auto_creation"),
    # -- root
    "client_id": Works(ADJUST + "test_client_id_reaches_every_request_header"),
    "channel_buffer_size": Works(
        F + "test_producer_blocking.py::test_unread_successes_stall_input_exactly",
        F + "test_producer_blocking.py::test_every_message_failing_stalls_after_2cbs_plus_1"),
    "version": Works(
        "tests/producer/test_async_pipeline.py::test_version_before_0_11_refuses_headers_and_"
        "uses_the_older_estimate",
        R + "test_bad_input.py::test_bad_input"),  # config-zstd-on-old-version
}


def leaf_fields(cls: type = Config, prefix: str = "") -> list[str]:
    """Every leaf field of the tree, dotted (``producer.retry.max``), found by walking
    the dataclasses through their defaults (as ``_config._guard_nodes`` does)."""
    out = []
    for f in fields(cls):
        default = f.default_factory() if callable(f.default_factory) else f.default
        if is_dataclass(default):
            out += leaf_fields(type(default), f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


def _items(coverage: Coverage) -> tuple[Works | Refused, ...]:
    return coverage if isinstance(coverage, tuple) else (coverage,)


def _set(config: Config, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = getattr(node, part)
    setattr(node, last, value)


@pytest.mark.timeout(10)
def test_every_field_has_an_effect_test_or_a_refusal() -> None:
    leaves = leaf_fields()
    missing = [name for name in leaves if name not in FIELDS]
    assert not missing, (f"config fields with neither an effect test nor a refusal: {missing}; "
                         "add each to FIELDS in tests/producer/test_config_fields.py")
    stale = sorted(set(FIELDS) - set(leaves))
    assert not stale, f"FIELDS names fields Config does not have: {stale}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(FIELDS))
def test_the_named_effect_tests_exist(name: str) -> None:
    for item in _items(FIELDS[name]):
        if not isinstance(item, Works):
            continue
        assert item.tests, f"{name}: Works() names no test"
        for test_id in item.tests:
            path, _, function = test_id.partition("::")
            source = ROOT / path
            assert source.is_file(), f"{name}: no file {path}"
            assert re.search(rf"^(async )?def {re.escape(function)}\(", source.read_text(),
                             re.MULTILINE), f"{name}: no test {function} in {path}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(n for n, c in FIELDS.items()
                                        if any(isinstance(i, Refused) for i in _items(c))))
def test_refused_values_are_refused_by_validate(name: str) -> None:
    for item in _items(FIELDS[name]):
        if not isinstance(item, Refused):
            continue
        config = Config()
        for path, value in item.also.items():
            _set(config, path, value)
        _set(config, name, item.value)
        with pytest.raises(ConfigurationError) as refused:
            config.validate()
        text = str(refused.value)
        assert name in text and item.says in text, text


@pytest.mark.timeout(10)
def test_the_walk_finds_a_new_field() -> None:
    """The walk is what makes the first test fail for a new field: it must see fields of
    nodes at every depth."""
    leaves = leaf_fields()
    assert {"client_id", "producer.retry.max_buffer_bytes", "net.sasl.handshake",
            "metadata.retry.backoff"} <= set(leaves)
    assert not any(name.endswith(("producer", "retry", "net", "tls", "sasl", "metadata"))
                   for name in leaves)  # nodes are walked into, not listed
