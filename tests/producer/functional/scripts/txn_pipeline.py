"""A consume-transform-produce loop for test_transactions.py: reads ``source`` as consumer
group ``group`` (read_committed), writes each value upper-cased to ``sink`` keyed by its
source position, and commits the consumed offsets with the output in one transaction
per poll (``add_message_to_txn``). Exits once it has consumed up to the end of
``source``.

    python txn_pipeline.py BOOTSTRAP SOURCE SINK GROUP TXN_ID [--hang-after K]

``--hang-after K``: after K committed transactions, begin another, send its output,
print ``MIDTXN`` and hang (the test SIGKILLs the process there: a crash mid-transaction).
"""

from __future__ import annotations

import argparse
import sys
import time

from kafka import KafkaConsumer, TopicPartition

from producer import Config, ProducerMessage, RequiredAcks, SyncProducer


def main() -> int:
    ap = argparse.ArgumentParser()
    for name in ("bootstrap", "source", "sink", "group", "txn_id"):
        ap.add_argument(name)
    ap.add_argument("--hang-after", type=int, default=-1)
    args = ap.parse_args()

    config = Config()
    config.producer.idempotent = True
    config.producer.required_acks = RequiredAcks.WAIT_FOR_ALL
    config.net.max_open_requests = 1
    config.producer.return_successes = True
    config.producer.transaction.id = args.txn_id  # a restart fences the crashed instance
    producer = SyncProducer(args.bootstrap, config)
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             isolation_level="read_committed", max_poll_records=50)
    # assign(), not subscribe(): a restarted loop need not wait for the crashed member's
    # session to time out; it starts from the offsets committed with the transactions.
    consumer.assign([TopicPartition(args.source, p)
                     for p in sorted(consumer.partitions_for_topic(args.source) or ())])
    committed = 0
    idle_since = time.monotonic()
    try:
        while True:
            batches = consumer.poll(timeout_ms=500)
            if not batches:
                parts = list(consumer.assignment())
                ends = consumer.end_offsets(parts)
                if all(consumer.position(tp) >= ends[tp] for tp in parts):
                    break
                if time.monotonic() - idle_since > 60:
                    print("no progress for 60 s", flush=True)
                    return 1
                continue
            idle_since = time.monotonic()
            producer.begin_txn()
            for tp, records in batches.items():
                msgs = [ProducerMessage(topic=args.sink, key=b"%d-%d" % (tp.partition, r.offset),
                                        value=r.value.upper()) for r in records]
                producer.send_messages(msgs)
                producer.add_message_to_txn(records[-1], args.group)
            if committed == args.hang_after:
                print("MIDTXN", flush=True)
                time.sleep(3600)
            producer.commit_txn()
            committed += 1
            print(f"COMMITTED {committed}", flush=True)
    finally:
        consumer.close()
        producer.close()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
