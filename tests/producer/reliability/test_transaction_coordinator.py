"""The transaction coordinator's node SIGKILLed mid-transaction on the three-node cluster
(issue 18): the transaction commits completely or aborts completely; a read_committed
consumer never sees half of it, nor any message twice.

Three transactions of ``N`` messages each on a 3-partition topic (replication factor 3,
min.insync.replicas=2; the transaction state log is replicated the same way): A commits
before the fault, B is open when the node that coordinates our transactional id is
killed (half of B sent before, half after; or as ``commit_txn()`` starts), then
``commit_txn()``; C runs on the new coordinator. A and C must be visible exactly once;
B entirely (commit returned) or not at all (commit raised, then ``abort_txn()``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from reliability_helpers import consume_all

from gochan import go
from producer import AsyncProducer, Config, ProducerMessage, RequiredAcks
from producer.testing import KafkaCluster

PARTITIONS = 3
N = 3000


def txn_config() -> Config:
    c = Config()
    c.producer.idempotent = True
    c.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    c.net.max_open_requests = 1
    c.producer.return_successes = True
    c.producer.timeout = 5.0
    c.producer.retry.max = 10
    c.producer.retry.backoff = 0.5
    c.producer.transaction.id = f"coord-kill-{uuid.uuid4().hex[:8]}"
    c.producer.transaction.retry.max = 20  # 21 * 5.1 s: outlasts the coordinator's election
    c.net.dial_timeout = 10.0
    return c


def read_committed(cluster: KafkaCluster, topic: str, timeout: float = 120.0) -> list[bytes]:
    """Every value a read_committed consumer sees, up to the last stable offsets."""
    return [r.value for r in consume_all(cluster, topic, PARTITIONS, timeout,
                                         isolation="read_committed")]


def coordinator_of(p: AsyncProducer) -> int:
    """The node id kafka-python found as our transaction coordinator (private)."""
    node = p._txn._client._manager._transaction_coordinator  # type: ignore[union-attr]
    assert node is not None, "no transaction coordinator known yet"
    return int(str(node).rsplit("-", 1)[-1])  # kafka-python names it "coordinator-<node id>"


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("when", ["mid-transaction", "during-commit"])
def test_coordinator_killed_all_or_nothing(cluster3: KafkaCluster, topic3: Callable[..., str],
                                           when: str) -> None:
    """``mid-transaction``: killed after half of B was sent; ``during-commit``: killed from
    another thread as the dispatcher takes the commit's marker (racing its flush and
    EndTxn)."""
    topic = topic3(PARTITIONS)
    p = AsyncProducer(cluster3.bootstrap_servers, txn_config())
    ok: list[ProducerMessage] = []
    failed: list[object] = []
    readers = [go(lambda: ok.extend(p.successes())), go(lambda: failed.extend(p.errors()))]

    def txn(tag: bytes, n: int, midway: Callable[[], None] | None = None) -> None:
        for i in range(n):
            if midway is not None and i == n // 2:
                midway()
            p.input().send(ProducerMessage(topic=topic, value=b"%s-%d" % (tag, i)))

    p.begin_txn()
    txn(b"A", N)
    p.commit_txn()
    victim = coordinator_of(p)
    p.begin_txn()
    killer = threading.Thread(target=cluster3.kill, args=(victim,))
    if when == "mid-transaction":
        txn(b"B", N, midway=lambda: cluster3.kill(victim))
    else:
        txn(b"B", N)
        # The kill starts as the dispatcher takes the commit's end marker: it races the
        # commit's flush of B and its EndTxn.
        transactions = p._txn
        assert transactions is not None
        reached = transactions.marker_reached

        def marker_then_kill(commit: bool) -> None:
            reached(commit)
            transactions.marker_reached = reached  # type: ignore[method-assign]
            killer.start()

        transactions.marker_reached = marker_then_kill  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        p.commit_txn()
        b_committed = True
    except Exception as exc:
        print(f"\nRELIABILITY txn-coordinator-killed: commit raised {exc!r}; aborting")
        b_committed = False
        p.abort_txn()
    took = time.monotonic() - started
    if killer.ident is not None:
        killer.join()
    p.begin_txn()
    txn(b"C", N)
    p.commit_txn()
    new_coordinator = coordinator_of(p)
    p.close()
    for g in readers:
        g.join()
    seen = Counter(read_committed(cluster3, topic))
    by_tag = {tag: sum(1 for v in seen if v.startswith(tag + b"-")) for tag in (b"A", b"B", b"C")}
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    print(f"\nRELIABILITY txn-coordinator-killed-{when}: victim node {victim}, new coordinator "
          f"{new_coordinator}, B committed={b_committed} (commit took {took:.1f} s), visible "
          f"A={by_tag[b'A']} B={by_tag[b'B']} C={by_tag[b'C']}, duplicates={duplicates}, "
          f"errors={len(failed)}", flush=True)
    assert duplicates == 0
    assert by_tag[b"A"] == N and by_tag[b"C"] == N
    assert by_tag[b"B"] == (N if b_committed else 0), "transaction B is half visible"
    assert new_coordinator != victim
