"""``python -m producer perf``: our kafka-producer-performance (sarama's perf tool).

It builds a :class:`Config` from its flags (sarama's flag names, with ``--`` in front),
forces ``return_successes`` on, and produces ``--message-load`` messages of
``--message-size`` random bytes (no key) through an :class:`AsyncProducer` fed by one
thread (``--throughput`` paces it), or with ``--sync`` through a :class:`SyncProducer`
from ``--routines`` threads. A progress bar runs on stderr; at the end one line on
stdout in the format of sarama's tool::

    100000 records sent, 21034.2 records/sec (2.01 MiB/sec), 12.3 ms avg latency,
    3.4 ms stddev, 10.1 ms 50th, 12.0 ms 75th, 20.1 ms 95th, 30.5 ms 99th, 40.2 ms 99.9th

Unlike sarama's tool, latency is measured **per message**, from the send on
``input()`` (or the ``send_message`` call) to its success (the send time rides in
``ProducerMessage.metadata``), and records/sec counts acknowledged messages from the
first send to the last acknowledgement. A second line is sarama's own, from the
producer's metrics (:meth:`AsyncProducer.metrics`): records sent as the
``record-send-rate`` meter counts them (retries again) and its mean rate, egress from
``outgoing-byte-rate``, latency **per request** (``request-latency-in-ms``) and the
requests still in flight::

    metrics: 100000 records sent, 20950.3 records/sec (2.00 MiB/sec ingress, 1.93 MiB/sec
    egress), 3.1 ms avg latency, 2.0 ms stddev, 3.0 ms 50th, 4.0 ms 75th, 7.0 ms 95th,
    9.0 ms 99th, 12.0 ms 99.9th, 0 total req. in flight Exit status as sarama's tool: 0, 64 for a
usage error, 69 for a runtime failure (no broker, invalid config, a failed message);
argparse's 2 for an unparsable flag (Go's ``flag`` package exits 2 there too).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import re
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from gochan import go, nilchan, select

from ._async_producer import AsyncProducer
from ._config import Compression, Config, SASLMechanism
from ._errors import AuthenticationError, ConfigurationError, KafkaError
from ._message import ProducerMessage
from ._partitioner import PARTITIONERS, partitioner_name
from ._sync_producer import SyncProducer

__all__ = ["EXIT_RUNTIME", "EXIT_USAGE", "PerfError", "PerfResult", "add_arguments",
           "parse_duration", "percentiles", "run_perf"]

EXIT_USAGE = 64  # sarama's tool: printUsageErrorAndExit
EXIT_RUNTIME = 69  # sarama's tool: printErrorAndExit(69, ...)



def _partitioner_arg(text: str) -> str:
    """``--partitioner``: any spelling Config takes (ours, or sarama's as aliases)."""
    name = partitioner_name(text)
    if name is None:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(sorted(PARTITIONERS))}; "
            "sarama's names such as roundrobin are accepted too)")
    return name

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_PAYLOADS = 1024  # distinct random payloads, reused round the load
PERCENTILES = (("p50", 0.50), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999))


class PerfError(Exception):
    """A failure that ends the run with ``code`` (64 usage, 69 runtime)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_duration(text: str) -> float:
    """Seconds from a Go duration (``10s``, ``500ms``, ``1m30s``) or a plain number of
    seconds (``2.5``)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if value < 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
        return value
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r} (e.g. 10s, 500ms, 1m30s, or seconds as a number)")
    return total


def percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """p50 ... p99.9 of ``latencies`` (seconds) in milliseconds; value at rank
    ``floor(q * n)`` of the sorted data. Empty input gives an empty dict."""
    data = sorted(latencies)
    if not data:
        return {}
    n = len(data)
    return {name: data[min(n - 1, int(q * n))] * 1000 for name, q in PERCENTILES}


@dataclass
class PerfResult:
    """What a run measured. Latencies are seconds, one per acknowledged message."""

    sent: int = 0
    failed: int = 0
    elapsed: float = 0.0
    message_size: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # the producer's

    @property
    def records_per_s(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def mib_per_s(self) -> float:
        return self.records_per_s * self.message_size / 2**20

    def summary(self) -> str:
        """sarama's perf line (its ingress MiB/s; no egress or in-flight counters)."""
        lat = self.latencies
        mean = sum(lat) / len(lat) if lat else 0.0
        std = math.sqrt(sum((x - mean) ** 2 for x in lat) / len(lat)) if lat else 0.0
        pct = percentiles(lat) or {name: 0.0 for name, _ in PERCENTILES}
        return (f"{self.sent} records sent, {self.records_per_s:.1f} records/sec "
                f"({self.mib_per_s:.2f} MiB/sec), {mean * 1000:.1f} ms avg latency, "
                f"{std * 1000:.1f} ms stddev, {pct['p50']:.1f} ms 50th, {pct['p75']:.1f} ms 75th, "
                f"{pct['p95']:.1f} ms 95th, {pct['p99']:.1f} ms 99th, "
                f"{pct['p99.9']:.1f} ms 99.9th")


    def metrics_summary(self) -> str | None:
        """sarama's tool's own line (its ``printMetrics``), from the producer's metrics:
        records and their mean rate from ``record-send-rate``, egress from
        ``outgoing-byte-rate``, latency per request from ``request-latency-in-ms``, and
        ``requests-in-flight``; ``None`` before any request."""
        m = self.metrics
        names = ("record-send-rate", "request-latency-in-ms", "outgoing-byte-rate",
                 "requests-in-flight")
        if not all(name in m for name in names):
            return None
        sent, latency = m["record-send-rate"], m["request-latency-in-ms"]
        return (f"metrics: {sent['count']} records sent, {sent['mean.rate']:.1f} records/sec "
                f"({sent['mean.rate'] * self.message_size / 2**20:.2f} MiB/sec ingress, "
                f"{m['outgoing-byte-rate']['mean.rate'] / 2**20:.2f} MiB/sec egress), "
                f"{latency['mean']:.1f} ms avg latency, {latency['stddev']:.1f} ms stddev, "
                f"{latency['median']:.1f} ms 50th, {latency['75%']:.1f} ms 75th, "
                f"{latency['95%']:.1f} ms 95th, {latency['99%']:.1f} ms 99th, "
                f"{latency['99.9%']:.1f} ms 99.9th, "
                f"{m['requests-in-flight']['count']} total req. in flight")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The perf command's flags (sarama's, plus --partitions for the fresh topic)."""
    p.add_argument("--brokers", metavar="HOST:PORT,...",
                   help="comma-separated broker addresses (default: the local broker of "
                   "producer.testing.local_kafka: KAFKA_BOOTSTRAP_SERVERS if set, else one "
                   "started for the run)")
    p.add_argument("--topic", help="an existing topic (default: a fresh one, created with "
                   "--partitions and deleted at the end)")
    p.add_argument("--partitions", type=int, default=3, metavar="N",
                   help="partitions of the fresh topic (default 3)")
    p.add_argument("--partition", type=int, default=-1, metavar="N",
                   help="the partition to produce to (-partitioner manual only; default -1)")
    p.add_argument("--message-load", type=int, default=100_000, metavar="N",
                   help="number of messages to produce (default 100000)")
    p.add_argument("--message-size", type=int, default=100, metavar="BYTES",
                   help="size of each message's random value (default 100)")
    p.add_argument("--required-acks", type=int, default=1, metavar="N",
                   help="-1 all in-sync replicas, 0 none, 1 the leader (default 1)")
    p.add_argument("--flush-frequency", type=parse_duration, default=0.0, metavar="DURATION",
                   help="best-effort frequency of flushes, e.g. 5ms (default 0)")
    p.add_argument("--flush-bytes", type=int, default=0, metavar="N",
                   help="best-effort bytes that trigger a flush (default 0)")
    p.add_argument("--flush-messages", type=int, default=0, metavar="N",
                   help="a partition's batch is sent once it holds N messages (needs "
                   "--flush-frequency; default 0)")
    p.add_argument("--flush-max-messages", type=int, default=0, metavar="N",
                   help="maximum messages in one partition's batch (default 0, no limit)")
    p.add_argument("--sync", action="store_true",
                   help="use a SyncProducer (send_message from --routines threads)")
    p.add_argument("--routines", type=int, default=1, metavar="N",
                   help="threads sending messages (--sync only; default 1)")
    p.add_argument("--throughput", type=int, default=0, metavar="MSGS_PER_S",
                   help="maximum messages per second, all threads together (default 0, "
                   "no limit)")
    p.add_argument("--partitioner", default="round_robin", type=_partitioner_arg,
                   metavar="NAME", help="hash, manual, random, round_robin (default), "
                   "reference_hash, murmur2 or crc32; also any spelling Config takes, "
                   "sarama's included (roundrobin)")
    p.add_argument("--compression", default="none", choices=[c.value for c in Compression],
                   metavar="CODEC", help="none (default), gzip, snappy, lz4 or zstd")
    p.add_argument("--channel-buffer-size", type=int, default=256, metavar="N",
                   help="buffer of the producer's channels (default 256)")
    p.add_argument("--max-open-requests", type=int, default=5, metavar="N",
                   help="unacknowledged requests per connection (default 5)")
    p.add_argument("--max-message-bytes", type=int, default=1_000_000, metavar="N",
                   help="largest message allowed (default 1000000)")
    p.add_argument("--timeout", type=parse_duration, default=10.0, metavar="DURATION",
                   help="how long the broker may take to satisfy --required-acks; also the "
                   "limit for reaching --brokers (default 10s)")
    p.add_argument("--client-id", default="sarama", help="client id sent to the brokers "
                   "(default sarama)")
    sec = p.add_argument_group("security (sarama's -security-protocol and -tls-* flags)")
    sec.add_argument("--tls", action="store_true",
                     help="connect with TLS (net.tls.enable); the system's CAs unless "
                     "--ca-file")
    sec.add_argument("--ca-file", metavar="PEM",
                     help="CA certificates (PEM) to trust for --tls")
    sec.add_argument("--sasl-mechanism", type=str.upper,
                     choices=[m.value for m in SASLMechanism], metavar="MECHANISM",
                     help="authenticate with SASL (net.sasl.enable): PLAIN, SCRAM-SHA-256 or "
                     "SCRAM-SHA-512 (OAUTHBEARER needs a token provider: use the API)")
    sec.add_argument("--sasl-user", metavar="NAME", help="SASL user name")
    pw = sec.add_mutually_exclusive_group()
    pw.add_argument("--sasl-password", metavar="PASSWORD",
                    help="SASL password (visible to other users in the process list: "
                    "prefer --sasl-password-env)")
    pw.add_argument("--sasl-password-env", metavar="VAR",
                    help="name of the environment variable holding the SASL password")


def _check_usage(args: argparse.Namespace) -> None:
    if args.message_load <= 0:
        raise PerfError(EXIT_USAGE, "--message-load must be greater than 0")
    if args.message_size <= 0:
        raise PerfError(EXIT_USAGE, "--message-size must be greater than 0")
    if args.routines < 1 or args.routines > args.message_load:
        raise PerfError(EXIT_USAGE, "--routines must be greater than 0 and less than or "
                        "equal to --message-load")
    if args.throughput < 0:
        raise PerfError(EXIT_USAGE, "--throughput must be >= 0")
    if args.partitions < 1:
        raise PerfError(EXIT_USAGE, "--partitions must be greater than 0")
    if args.partitioner == "manual" and args.partition < 0:
        raise PerfError(EXIT_USAGE, "--partition must not be -1 for --partitioner manual")
    if args.ca_file and not args.tls:
        raise PerfError(EXIT_USAGE, "--ca-file needs --tls")
    if args.sasl_mechanism == SASLMechanism.OAUTHBEARER.value:
        raise PerfError(EXIT_USAGE, "--sasl-mechanism OAUTHBEARER needs a token provider, "
                        "which only the API takes (net.sasl.token_provider)")
    sasl_flags = (args.sasl_user, args.sasl_password, args.sasl_password_env)
    if any(f is not None for f in sasl_flags) and not args.sasl_mechanism:
        raise PerfError(EXIT_USAGE, "--sasl-user and --sasl-password(-env) need "
                        "--sasl-mechanism")
    if (args.sasl_mechanism or args.tls) and not args.brokers:
        raise PerfError(EXIT_USAGE, "--tls and --sasl-mechanism need --brokers (a secured "
                        "cluster: `python -m producer broker --security SASL_SSL` starts one)")
    if args.sasl_password_env and args.sasl_password_env not in os.environ:
        raise PerfError(EXIT_USAGE, f"--sasl-password-env: ${args.sasl_password_env} is not "
                        "set")


def _security(args: argparse.Namespace, config: Config) -> None:
    """--tls, --ca-file and --sasl-* onto ``config.net``."""
    if args.tls:
        config.net.tls.enable = True
        if args.ca_file:
            try:
                config.net.tls.config = ssl.create_default_context(cafile=args.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise PerfError(EXIT_USAGE, f"--ca-file {args.ca_file}: {exc}") from None
    if args.sasl_mechanism:
        sasl = config.net.sasl
        sasl.enable = True
        sasl.mechanism = args.sasl_mechanism
        sasl.user = args.sasl_user or ""
        if args.sasl_password_env:
            sasl.password = os.environ[args.sasl_password_env]
        else:
            sasl.password = args.sasl_password or ""


def build_config(args: argparse.Namespace) -> Config:
    """The producer config the flags describe (validated).

    Raises:
        PerfError: 69, the config is invalid (as sarama's tool: "Invalid configuration").
    """
    config = Config()
    p = config.producer
    p.required_acks = args.required_acks
    p.timeout = args.timeout
    p.partitioner = args.partitioner
    p.compression = args.compression
    p.max_message_bytes = args.max_message_bytes
    p.flush.frequency = args.flush_frequency
    p.flush.bytes = args.flush_bytes
    p.flush.messages = args.flush_messages
    p.flush.max_messages = args.flush_max_messages
    p.return_successes = True
    config.client_id = args.client_id
    config.channel_buffer_size = args.channel_buffer_size
    config.net.max_open_requests = args.max_open_requests
    _security(args, config)
    try:
        config.validate()
    except ConfigurationError as exc:
        raise PerfError(EXIT_RUNTIME, f"Invalid configuration: {exc}") from None
    return config


class _Pacer:
    """``--throughput``: message ``i`` (counted over all threads) leaves no earlier than
    ``start + i / rate``; sends in time are not delayed."""

    def __init__(self, rate: int) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._next = 0
        self._start = 0.0

    def start(self, t0: float) -> None:
        self._start = t0

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            due = self._start + self._next * self._interval
            self._next += 1
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


@contextlib.contextmanager
def _progress(total: int, count: Callable[[], int], err: IO[str]) -> Iterator[None]:
    """A tqdm bar on ``err``, refreshed from ``count()`` by its own thread every 0.2 s
    (the producing threads never touch it)."""
    tqdm = importlib.import_module("tqdm")  # untyped; imported here to keep imports cheap
    bar = tqdm.tqdm(total=total, desc="perf", unit="msg", unit_scale=True, file=err,
                    mininterval=0.2, dynamic_ncols=True, leave=True)
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(0.2):
            bar.update(count() - bar.n)

    thread = threading.Thread(target=refresh, name="perf-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.update(count() - bar.n)
        bar.close()


def _payloads(n: int, size: int) -> list[bytes]:
    return [os.urandom(size) for _ in range(min(n, _PAYLOADS))]


def _run_async(addrs: str, topic: str, config: Config, args: argparse.Namespace,
               err: IO[str]) -> PerfResult:
    n, size = args.message_load, args.message_size
    payloads = _payloads(n, size)
    result = PerfResult(message_size=size)
    clock = time.perf_counter
    last_ack = [0.0]
    failed = threading.Event()
    producer = AsyncProducer(addrs, config)

    def drain() -> None:
        """One reader selecting on both channels until both are closed (as sarama's tool),
        so it only parks when no result is coming: no stall warning for an idle reader."""
        record = result.latencies.append
        cases: list[Callable[[], tuple[Any, bool]]] = [
            producer.successes().recv_ok, producer.errors().recv_ok]
        live = len(cases)
        while live:
            i, (item, ok) = select(*cases)
            if not ok:
                cases[i] = nilchan.recv_ok  # closed: never ready again
                live -= 1
            elif i == 0:
                now = clock()
                record(now - item.metadata)
                last_ack[0] = now
            else:
                if result.first_error is None:
                    result.first_error = str(item)
                result.failed += 1
                failed.set()

    reader = go(drain)
    pacer = _Pacer(args.throughput)
    send = producer.input().send
    partition = args.partition
    try:
        with _progress(n, lambda: len(result.latencies) + result.failed, err):
            start = clock()
            pacer.start(start)
            for i in range(n):
                if failed.is_set():  # sarama's tool exits on the first error
                    break
                pacer.wait()
                msg = ProducerMessage(topic, value=payloads[i % len(payloads)],
                                      partition=partition)
                msg.metadata = clock()
                send(msg)
            producer.async_close()
            reader.join()
    finally:
        producer.async_close()
    result.metrics = producer.metrics()
    result.sent = len(result.latencies)
    result.elapsed = (last_ack[0] or clock()) - start
    return result


def _run_sync(addrs: str, topic: str, config: Config, args: argparse.Namespace,
              err: IO[str]) -> PerfResult:
    n, size, routines = args.message_load, args.message_size, args.routines
    payloads = _payloads(n, size)
    result = PerfResult(message_size=size)
    clock = time.perf_counter
    failed = threading.Event()
    lock = threading.Lock()
    producer = SyncProducer(addrs, config)
    pacer = _Pacer(args.throughput)
    shares = [n // routines] * routines
    shares[-1] += n % routines
    last_ack = [0.0]

    def routine(index: int, share: int) -> None:
        record = result.latencies.append
        for i in range(share):
            if failed.is_set():
                return
            pacer.wait()
            msg = ProducerMessage(topic, value=payloads[(index + i) % len(payloads)],
                                  partition=args.partition)
            sent_at = clock()
            try:
                producer.send_message(msg)
            except Exception as exc:
                with lock:
                    if result.first_error is None:
                        result.first_error = f"{type(exc).__name__}: {exc}"
                    result.failed += 1
                failed.set()
                return
            now = clock()
            record(now - sent_at)
            last_ack[0] = max(last_ack[0], now)

    threads = [threading.Thread(target=routine, args=(i, share), name=f"perf-routine-{i}",
                                daemon=True) for i, share in enumerate(shares)]
    try:
        with _progress(n, lambda: len(result.latencies) + result.failed, err):
            start = clock()
            pacer.start(start)
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        producer.close()
    result.metrics = producer.metrics()
    result.sent = len(result.latencies)
    result.elapsed = (last_ack[0] or clock()) - start
    return result


@contextlib.contextmanager
def _target(args: argparse.Namespace, config: Config,
            err: IO[str]) -> Iterator[tuple[str, str]]:
    """(bootstrap addresses, topic): from --brokers or local_kafka(); a fresh topic
    unless --topic (deleted again on exit)."""
    from producer._kafka import client_settings
    from producer._preflight import check_security
    from producer.testing import ExternalCluster, KafkaCluster, KafkaHarnessError, local_kafka

    with contextlib.ExitStack() as stack:
        cluster: KafkaCluster
        try:
            if args.brokers:
                settings = client_settings(args.brokers.split(","), config)
                check_security(args.brokers.split(","), config, settings)
                security = {k: v for k, v in settings.items()
                            if k.startswith(("security_", "ssl_", "sasl_"))}
                cluster = ExternalCluster.connect(args.brokers, timeout=args.timeout,
                                                  client_configs=security)
            else:
                if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
                    print("starting a local Kafka broker (the first run fetches its jars with "
                          "Maven, ~45 MB)...", file=err, flush=True)
                cluster = stack.enter_context(local_kafka())
        except KafkaHarnessError as exc:
            if args.brokers:  # connect()'s message speaks of KAFKA_BOOTSTRAP_SERVERS
                cause = exc.__cause__ or exc
                raise PerfError(EXIT_RUNTIME, f"no broker at {args.brokers} answered within "
                                f"{args.timeout:g} s ({type(cause).__name__}: {cause})") from None
            raise PerfError(EXIT_RUNTIME, f"no broker: {exc}") from None
        addrs = args.brokers or cluster.bootstrap_servers
        topic = args.topic
        if topic is None:
            topic = f"perf-{uuid.uuid4().hex[:10]}"
            try:
                cluster.create_topic(topic, partitions=args.partitions,
                                     timeout=max(args.timeout, 30.0))
            except Exception as exc:
                raise PerfError(EXIT_RUNTIME,
                                f"Failed to create topic {topic}: {exc}") from None

            def delete() -> None:
                with contextlib.suppress(Exception):
                    cluster.delete_topic(topic)

            stack.callback(delete)
        yield addrs, topic


def run_perf(args: argparse.Namespace, out: IO[str] | None = None,
             err: IO[str] | None = None) -> int:
    """Run the perf command for parsed ``args``; the summary line goes to ``out``.

    Returns the exit code: 0, 64 (usage) or 69 (runtime failure).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        _check_usage(args)
        config = build_config(args)
        with _target(args, config, err) as (addrs, topic):
            mode = f"sync, {args.routines} routine(s)" if args.sync else "async"
            rate = f"{args.throughput} msg/s" if args.throughput else "unthrottled"
            print(f"producing {args.message_load} messages of {args.message_size} B to "
                  f"{topic} at {addrs} ({mode}, acks={args.required_acks}, partitioner="
                  f"{config.producer.partitioner}, compression={args.compression}, {rate})",
                  file=err, flush=True)
            run = _run_sync if args.sync else _run_async
            try:
                result = run(addrs, topic, config, args, err)
            except (KafkaError, ConfigurationError) as exc:
                raise PerfError(EXIT_RUNTIME, f"Failed to create producer: {exc}") from None
    except AuthenticationError as exc:
        print(f"ERROR: {exc}", file=err, flush=True)
        return EXIT_RUNTIME
    except PerfError as exc:
        print(f"ERROR: {exc}", file=err, flush=True)
        return exc.code
    print(result.summary(), file=out, flush=True)
    metrics = result.metrics_summary()
    if metrics is not None:
        print(metrics, file=out, flush=True)
    if result.failed:
        print(f"ERROR: {result.failed} message(s) failed; the first: {result.first_error}",
              file=err, flush=True)
        return EXIT_RUNTIME
    return 0

