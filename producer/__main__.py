"""Command line tools of the producer package: python -m producer COMMAND.

Each subcommand is a ``_add_<name>(subparsers)`` function that registers its parser and sets
``func`` (``args -> exit code``); add a new one to ``_COMMANDS``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

_Subparsers = Any  # argparse._SubParsersAction is private


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread by the SIGTERM handler, to unwind like Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _cmd_broker(args: argparse.Namespace) -> int:
    from producer.testing import KafkaHarnessError, local_kafka

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with local_kafka(args.brokers, source="local", shutdown_timeout=10.0,
                         start_timeout=args.start_timeout, security=args.security) as cluster:
            print(f"KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}", flush=True)
            if cluster.security != "PLAINTEXT":
                print(f"KAFKA_SECURITY_PROTOCOL={cluster.security}", flush=True)
            if cluster.ca_file is not None:
                print(f"KAFKA_CA_FILE={cluster.ca_file}", flush=True)
            for user, password in cluster.users.items():  # throwaway test credentials
                print(f"KAFKA_USER_{user.upper()}={user}:{password}", flush=True)
            logs = getattr(cluster, "workdir", None)
            print(f"Kafka {cluster.kafka_version} is up ({len(cluster.brokers)} node(s), "
                  f"{cluster.source}{f', logs in {logs}' if logs else ''}); "
                  "Ctrl-C or SIGTERM stops it.", file=sys.stderr, flush=True)
            # From here on a signal only sets a flag: a KeyboardInterrupt raised at an
            # arbitrary point of the loop below could land inside Popen.poll() between
            # taking its waitpid lock and its try/finally, leaving the lock held, and
            # the cleanup's wait() on that process would then spin to its timeout.
            stop: list[int] = []
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda signum, frame: stop.append(signum))
            while not stop:
                time.sleep(0.2)
                for node in cluster.brokers:
                    proc = getattr(node, "process", None)
                    if proc is not None and proc.poll() is not None:
                        print(f"error: node {node.node_id} exited with code {proc.returncode}; "
                              f"last lines of its log:\n{node.log_tail()}", file=sys.stderr)
                        return 1
    except KafkaHarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # during start-up
        pass
    print("stopped", file=sys.stderr, flush=True)
    return 0


def _add_broker(sub: _Subparsers) -> None:
    p = sub.add_parser("broker", help="run a local Kafka cluster until Ctrl-C",
                       description="Start a local Kafka 4.x cluster (KRaft, 127.0.0.1), print "
                       "its bootstrap address, and keep it up until Ctrl-C or SIGTERM.")
    p.add_argument("--brokers", type=int, default=1, metavar="N",
                   help="number of broker+controller nodes (default 1)")
    p.add_argument("--start-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="give up if the cluster is not ready by then (default 120)")
    p.add_argument("--security", default="PLAINTEXT", type=str.upper,
                   choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
                   help="protocol of the client listener (default PLAINTEXT); SSL and "
                   "SASL_SSL print the CA file, SASL ones the users admin and alice with "
                   "their passwords (PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER enabled)")
    p.set_defaults(func=_cmd_broker)


def _cmd_demo(args: argparse.Namespace) -> int:
    from producer._demo import run_demo

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run_demo(messages=args.messages, partitions=args.partitions)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _add_demo(sub: _Subparsers) -> None:
    p = sub.add_parser("demo", help="produce and consume messages on a local broker",
                       description="Start a local broker (or use KAFKA_BOOTSTRAP_SERVERS), "
                       "produce messages to a new topic, consume them back and summarise.")
    p.add_argument("--messages", type=int, default=20_000, metavar="N",
                   help="how many messages to produce (default 20000)")
    p.add_argument("--partitions", type=int, default=3, metavar="N",
                   help="partitions of the demo topic (default 3)")
    p.set_defaults(func=_cmd_demo)


def _cmd_perf(args: argparse.Namespace) -> int:
    from producer._perf import run_perf

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run_perf(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _add_perf(sub: _Subparsers) -> None:
    from producer._perf import add_arguments

    p = sub.add_parser("perf", help="measure producer throughput and latency (sarama's "
                       "kafka-producer-performance)",
                       description="Produce --message-load messages and print records/sec, "
                       "MiB/sec and per-message latency percentiles (send to success), like "
                       "sarama's kafka-producer-performance. Exit status 64 for a usage "
                       "error, 69 for a runtime failure.")
    add_arguments(p)
    p.set_defaults(func=_cmd_perf)


_COMMANDS: list[Callable[[_Subparsers], None]] = [_add_broker, _add_demo, _add_perf]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m producer", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
