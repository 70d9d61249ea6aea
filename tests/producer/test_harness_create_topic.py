"""``KafkaCluster.create_topic``: which CreateTopics refusals it waits out and which it raises.

A broker frozen past its session (as the interrupt test does to the shared broker)
is fenced by the controller when it runs again and unfenced by its next heartbeat; a topic
created in that window is refused with "All brokers are currently fenced". That refusal is
transient; a replication factor larger than the cluster is not. The admin client is faked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.errors import InvalidReplicationFactorError

from producer.testing import KafkaCluster
from producer.testing._cluster import ExternalCluster

FENCED = ("Unable to replicate the partition 1 time(s): All brokers are currently fenced, "
          "or have all their log directories cordoned.")
TOO_FEW = "Unable to replicate the partition 3 time(s): The target replication factor of 3 " \
          "cannot be reached because only 1 broker(s) are registered."


class _Admin:
    def __init__(self, refusals: list[str]) -> None:
        self.refusals = refusals
        self.creates = 0

    def create_topics(self, spec: Any, timeout_ms: int) -> None:
        self.creates += 1
        if self.refusals:
            raise InvalidReplicationFactorError(self.refusals.pop(0))

    def wait_for_topics(self, names: list[str], timeout_ms: int) -> None:
        pass

    def list_partition_offsets(self, offsets: Any, timeout_ms: int) -> None:
        pass


def _cluster(monkeypatch: pytest.MonkeyPatch, admin: _Admin) -> KafkaCluster:
    cluster = ExternalCluster("127.0.0.1:9", [])

    @contextlib.contextmanager
    def fake_admin(**configs: Any) -> Iterator[_Admin]:
        yield admin

    monkeypatch.setattr(cluster, "admin", fake_admin)
    monkeypatch.setattr("producer.testing._cluster.time.sleep", lambda s: None)
    return cluster


def test_a_fenced_broker_is_waited_out(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = _Admin([FENCED, FENCED])
    _cluster(monkeypatch, admin).create_topic("t", timeout=30)
    assert admin.creates == 3


def test_too_few_brokers_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = _Admin([TOO_FEW])
    with pytest.raises(InvalidReplicationFactorError, match="only 1 broker"):
        _cluster(monkeypatch, admin).create_topic("t", replication_factor=3, timeout=30)
    assert admin.creates == 1
