"""Bad input at every public entry point, one table row each (issue 7, reliability view).

Entry points: ``Config`` (checked when a producer is built), the ``addrs`` argument,
``AsyncProducer.input()``, ``SyncProducer.send_message``/``send_messages``, the
lifecycle (``close``/``async_close`` twice, sending after close) and our own callbacks
(a partitioner or interceptor that calls back into the producer).

Each row gets a clear exception at the call, or a per-message ``ProducerError`` naming
the problem, and after each one a good message still succeeds on the producer that saw
it (for rows that fail at construction: on a shared producer, which shows nothing was
left half-built). The unit tests of ``Config`` cover each rule in depth; here every kind
of bad input is a row so the whole surface is visible in one place.

Every row about a message also runs against ``producer.mocks`` (the ``on_mock`` of its
``run``): the mock must fail that message with the same exception type and the same
words, since both call the one module of checks (``producer._checks``). Only the rows
the broker decides (``BROKER_ONLY``) have no mock side.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gochan import Chan, ClosedChannelError, select
from producer import (
    AsyncProducer,
    BrokerError,
    ClosedProducerError,
    Compression,
    Config,
    ConfigurationError,
    InvalidPartitionError,
    InvalidTopicError,
    ProducerError,
    ProducerErrors,
    ProducerMessage,
    RequiredAcks,
    SyncProducer,
    mocks,
)
from producer.testing import KafkaCluster
from producer.testing.pytest_plugin import unique_topic_name

PRODUCER_LIMIT = 10_000  # producer.max_message_bytes of the shared producers
TOPIC_LIMIT = 1_024  # max.message.bytes of the "small" topic (broker-side check)
WAIT = 60.0  # generous: the machine is shared


@dataclass
class Env:
    bootstrap: str
    topic: str  # 3 partitions
    small: str  # 1 partition, max.message.bytes = TOPIC_LIMIT
    ap: AsyncProducer  # return_successes on, max_message_bytes = PRODUCER_LIMIT
    sp: SyncProducer  # same config
    mp: AsyncProducer  # manual partitioner
    extra: list[Any] = field(default_factory=list)  # per-row producers, closed at the end

    def good(self, i: int = 0) -> ProducerMessage:
        return ProducerMessage(self.topic, key=b"good-%d" % i, value=b"good")


def config(**producer_fields: Any) -> Config:
    c = Config()
    c.producer.return_successes = True
    c.producer.max_message_bytes = PRODUCER_LIMIT
    c.producer.timeout = 5.0
    c.net.dial_timeout = 10.0
    for name, value in producer_fields.items():
        setattr(c.producer, name, value)
    return c


def result(p: AsyncProducer, msg: Any) -> ProducerMessage | ProducerError:
    """Send ``msg`` on ``p.input()`` and return what came back for it."""
    p.input().send(msg, timeout=WAIT)
    _, value = select(p.successes().recv, p.errors().recv, timeout=WAIT)
    return value


def delivered(p: AsyncProducer, msg: ProducerMessage) -> None:
    got = result(p, msg)
    assert got is msg, f"a good message failed after a bad one: {got!r}"
    assert msg.offset >= 0


@pytest.fixture(scope="module")
def env(kafka_cluster: KafkaCluster) -> Iterator[Env]:
    topic, small = unique_topic_name("bad-input"), unique_topic_name("bad-input-small")
    kafka_cluster.create_topic(topic, 3)
    kafka_cluster.create_topic(small, 1, 1, {"max.message.bytes": TOPIC_LIMIT})
    bootstrap = kafka_cluster.bootstrap_servers
    ap = AsyncProducer(bootstrap, config())
    sp = SyncProducer(bootstrap, config())
    mp = AsyncProducer(bootstrap, config(partitioner="manual"))
    e = Env(bootstrap, topic, small, ap, sp, mp)
    try:
        delivered(ap, e.good())  # metadata warm: later rows fail for their own reason only
        yield e
    finally:
        for p in (ap, sp, mp):
            try:
                p.close()
            except ProducerErrors:
                pass


# -- rows ------------------------------------------------------------------------------

@dataclass
class Row:
    """``run(env)`` does one bad thing and returns the exception it raised or reported;
    ``after(env)`` then sends a good message (default: on the shared AsyncProducer)."""

    id: str
    run: Callable[[Env], BaseException | None]
    expect: type[BaseException] | None
    match: str = ""
    after: Callable[[Env], None] = field(
        default=lambda e: delivered(e.ap, e.good(1)))


def raised(fn: Callable[[], Any]) -> BaseException | None:
    try:
        fn()
    except BaseException as exc:  # the row's assertion says which one was expected
        return exc
    return None


def bad_config(**changes: Any) -> Callable[[Env], BaseException | None]:
    """Build an AsyncProducer with ``changes`` applied to ``config().producer``
    (``retry__max`` is ``producer.retry.max``; ``net__...`` and ``metadata__...`` start at
    the root)."""
    def run(e: Env) -> BaseException | None:
        c = config()
        for name, value in changes.items():
            *path, last = name.split("__")
            obj: Any = c if path and path[0] in ("net", "metadata") else c.producer
            for part in path:
                obj = getattr(obj, part)
            setattr(obj, last, value)
        return raised(lambda: e.extra.append(AsyncProducer(e.bootstrap, c)))
    return run


def bad_addrs(addrs: Any) -> Callable[[Env], BaseException | None]:
    return lambda e: raised(lambda: e.extra.append(AsyncProducer(addrs, config())))


def on_input(**fields: Any) -> Callable[[Env], BaseException | None]:
    """A message with ``fields`` on the shared AsyncProducer's input(): its ProducerError."""
    def message(e: Env) -> ProducerMessage:
        kw: dict[str, Any] = {"topic": e.topic, "key": b"k", "value": b"v"}
        kw.update({k: (v(e) if callable(v) else v) for k, v in fields.items()})
        return ProducerMessage(**kw)

    def run(e: Env) -> BaseException | None:
        msg = message(e)
        got = result(e.ap, msg)
        assert isinstance(got, ProducerError), f"bad message was delivered: {got!r}"
        assert got.msg is msg
        return got.err
    return with_mock(run, lambda e: on_mock_input(e, message(e), config()))


def on_manual(partition: Any) -> Callable[[Env], BaseException | None]:
    def message(e: Env) -> ProducerMessage:
        return ProducerMessage(e.topic, value=b"v", partition=partition)

    def run(e: Env) -> BaseException | None:
        got = result(e.mp, message(e))
        assert isinstance(got, ProducerError), f"bad message was delivered: {got!r}"
        return got.err
    return with_mock(run, lambda e: on_mock_input(e, message(e),
                                                  config(partitioner="manual")))


def raw_input(item: Any) -> Callable[[Env], BaseException | None]:
    """Something that is not a ProducerMessage sent on input()."""
    def run(e: Env) -> BaseException | None:
        e.ap.input().send(item, timeout=WAIT)
        err = e.ap.errors().recv(timeout=WAIT)
        assert isinstance(err, ProducerError) and err.msg is None
        return err.err
    return with_mock(run, lambda e: on_mock_input(e, item, config()))


# -- the same rows on producer.mocks ----------------------------------------------------

MockRun = Callable[[Env], BaseException | None]


def with_mock(run: Callable[[Env], BaseException | None],
              on_mock: MockRun) -> Callable[[Env], BaseException | None]:
    run.on_mock = on_mock  # type: ignore[attr-defined]
    return run


def mock_of(kind: type[Any], e: Env, c: Config, problems: list[str]) -> Any:
    """A mock producer with ``c``, the env's topic at 3 partitions (as on the broker),
    reporting its test failures to ``problems``."""
    return kind(c, reporter=problems.append).set_partitions(e.topic, 3)


def on_mock_input(e: Env, item: Any, c: Config) -> BaseException | None:
    """``item`` on a mocks.AsyncProducer's input() with one expectation: its error, which
    the mock must also report as a test failure (the real producer would reject it)."""
    problems: list[str] = []
    with mock_of(mocks.AsyncProducer, e, c, problems) as m:
        if isinstance(item, ProducerMessage):
            m.expect_input_and_succeed()
        m.input().send(item, timeout=WAIT)
        _, got = select(m.successes().recv, m.errors().recv, timeout=WAIT)
    assert isinstance(got, ProducerError), f"the mock delivered a bad message: {got!r}"
    assert problems, "the mock did not report the bad message as a test failure"
    return got.err


def on_mock_sync(e: Env, call: Callable[[Any], Any], expectations: int,
                 reported: bool = True) -> BaseException | None:
    """``call(mock)`` on a mocks.SyncProducer with ``expectations`` set: what it raised.
    ``reported``: the mock also reports a test failure (a message the real producer
    would fail; a call with a wrong argument type only raises, as the real one)."""
    problems: list[str] = []
    with mock_of(mocks.SyncProducer, e, config(), problems) as m:
        for _ in range(expectations):
            m.expect_send_message_and_succeed()
        exc = raised(lambda: call(m))
    if reported:
        assert problems, "the mock did not report the bad message as a test failure"
    return exc


def sync_send(make: Callable[[Env], ProducerMessage]) -> Callable[[Env], BaseException | None]:
    """``send_message`` of a bad message on the shared SyncProducer (and on a mock)."""
    return with_mock(lambda e: raised(lambda: e.sp.send_message(make(e))),
                     lambda e: on_mock_sync(e, lambda m: m.send_message(make(e)), 1))


def sync_call(fn: Callable[[Env], Any]) -> Callable[[Env], BaseException | None]:
    return lambda e: raised(lambda: fn(e))


def sync_after(e: Env) -> None:
    partition, offset = e.sp.send_message(e.good(2))
    assert partition >= 0 and offset >= 0


# ---- lifecycle and callbacks (each on its own producer)

def send_after_close(e: Env) -> BaseException | None:
    p = AsyncProducer(e.bootstrap, config())
    p.close()
    return raised(lambda: p.input().send(e.good(), timeout=5))


def sync_send_after_close(e: Env) -> BaseException | None:
    sp = SyncProducer(e.bootstrap, config())
    sp.close()
    return raised(lambda: sp.send_message(e.good()))


def close_twice(e: Env) -> BaseException | None:
    p = AsyncProducer(e.bootstrap, config())
    delivered(p, e.good())
    p.close()
    start = time.monotonic()
    exc = raised(p.close)
    p.async_close()  # harmless too
    assert time.monotonic() - start < 5, "a second close() must return at once"
    return exc


def sync_close_twice(e: Env) -> BaseException | None:
    sp = SyncProducer(e.bootstrap, config())
    sp.send_message(e.good())
    sp.close()
    return raised(sp.close)


class _CallsBack:
    """A partitioner (constructor and instance) and interceptor that runs ``action`` once,
    on the message whose value is ``b"trigger"``, records what it raised and re-raises it,
    so the producer reports it."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self.action = action
        self.seen: list[BaseException] = []
        self.armed = True

    def __call__(self, topic: str) -> _CallsBack:  # the partitioner constructor
        return self

    def partition(self, msg: ProducerMessage, num_partitions: int) -> int:
        self._fire(msg)
        return 0

    def requires_consistency(self) -> bool:
        return False

    def on_send(self, msg: ProducerMessage) -> None:
        self._fire(msg)

    def _fire(self, msg: ProducerMessage) -> None:
        if not self.armed or msg.value != b"trigger":
            return
        self.armed = False
        try:
            self.action()
        except BaseException as exc:
            self.seen.append(exc)
            raise


HANG = 10.0  # a callback that calls back normally returns in milliseconds


def _in_thread(fn: Callable[[], Any], rescue: Callable[[], None]) -> Any:
    """Run ``fn`` so that a hang is a test failure, not a stuck suite; ``rescue`` then
    unblocks the producer so that its threads can end."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    t = threading.Thread(target=target, name="bad-input-call", daemon=True)
    t.start()
    t.join(HANG)
    if t.is_alive():
        rescue()
        t.join(HANG)
        raise AssertionError(f"the producer hung for {HANG:g} s")
    return box[0]


class _LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def callback(where: str, api: str, action: str) -> Callable[[Env], BaseException | None]:
    """A partitioner or interceptor of ours that calls ``close()`` or ``send_message`` on
    the producer running it. The call must raise RuntimeError in the callback, and never
    hang. A partitioner's exception fails that message (reported on errors() or raised by
    send_message); an interceptor's is logged and the message goes on (sarama recovers an
    interceptor's panic)."""
    def run(e: Env) -> BaseException | None:
        holder: list[Any] = []

        def act() -> None:
            if action == "close":
                holder[0].close()
            else:
                holder[0].send_message(ProducerMessage(e.topic, value=b"inner"))

        cb = _CallsBack(act)
        c = config(partitioner=cb) if where == "partitioner" else config(interceptors=[cb])
        p: Any = AsyncProducer(e.bootstrap, c) if api == "async" else SyncProducer(
            e.bootstrap, c)
        holder.append(p)
        e.extra.append(p)
        inner: AsyncProducer = p if api == "async" else p._producer

        def rescue() -> None:  # a close() blocked on _finished in the dispatcher: let it go
            old = inner._finished
            inner._finished = Chan()
            old.close()

        trigger = ProducerMessage(e.topic, value=b"trigger")
        logs = _LogRecords()
        logging.getLogger("producer").addHandler(logs)
        try:
            if api == "async":
                got = _in_thread(lambda: result(p, trigger), rescue)
            else:
                got = _in_thread(lambda: p.send_message(trigger), rescue)
        finally:
            logging.getLogger("producer").removeHandler(logs)
        assert cb.seen, "the callback was not called"
        err = cb.seen[0]
        if where == "partitioner":  # that message failed with the callback's exception
            reported = got.err if isinstance(got, ProducerError) else got
            assert reported is err, f"reported {got!r}, the callback raised {err!r}"
        else:  # logged, and the message itself delivered
            assert got is trigger or isinstance(got, tuple), got
            assert any(r.exc_info and r.exc_info[1] is err for r in logs.records), \
                "the interceptor's exception was not logged"
        assert not inner.closed
        if api == "async":
            delivered(p, e.good())
        else:
            p.send_message(e.good())
        return err
    return run


def send_messages_with_a_non_message(e: Env) -> BaseException | None:
    good = e.good(4)
    exc = raised(lambda: e.sp.send_messages([good, "not a message"]))
    assert good.offset == -1, "nothing is sent when the batch has a non-message"
    return exc


def send_messages_partial(e: Env) -> BaseException | None:
    msgs = [e.good(5), ProducerMessage(e.topic, value=12345), e.good(6)]
    exc = raised(lambda: e.sp.send_messages(msgs))
    assert isinstance(exc, ProducerErrors) and len(exc) == 1 and exc[0].msg is msgs[1]
    assert msgs[0].offset >= 0 and msgs[2].offset >= 0  # the good ones were delivered
    return exc[0].err


def send_messages_partial_on_mock(e: Env) -> BaseException | None:
    # sarama's mock raises the first failure itself, not ProducerErrors (see the README)
    msgs = [e.good(5), ProducerMessage(e.topic, value=12345), e.good(6)]
    return on_mock_sync(e, lambda m: m.send_messages(msgs), 3)


with_mock(send_messages_partial, send_messages_partial_on_mock)
with_mock(send_messages_with_a_non_message,
          lambda e: on_mock_sync(e, lambda m: m.send_messages([e.good(4), "not a message"]), 2,
                                 reported=False))


def unknown_topic_no_autocreate(e: Env) -> BaseException | None:
    c = config(timeout=2.0)
    c.metadata.allow_auto_topic_creation = False
    p = AsyncProducer(e.bootstrap, c)
    e.extra.append(p)
    got = result(p, ProducerMessage(unique_topic_name("never-created"), value=b"v"))
    assert isinstance(got, ProducerError)
    delivered(p, e.good())
    return got.err


ROWS = [
    # ---- Config, checked when a producer is built
    Row("config-not-a-Config", lambda e: raised(lambda: AsyncProducer(e.bootstrap, {"acks": 1})),
        TypeError, "producer.Config"),
    Row("config-retry-max-str", bad_config(retry__max="3"), ConfigurationError,
        r"producer\.retry\.max .*must be an int"),
    Row("config-timeout-negative", bad_config(timeout=-1.0), ConfigurationError,
        r"producer\.timeout .*> 0"),
    Row("config-max-message-bytes-zero", bad_config(max_message_bytes=0), ConfigurationError,
        r"producer\.max_message_bytes"),
    Row("config-channel-buffer-negative",
        lambda e: raised(lambda: AsyncProducer(e.bootstrap, _with(config(), "channel_buffer_size",
                                                                   -1))),
        ConfigurationError, r"channel_buffer_size .*>= 0"),
    Row("config-max-open-requests-zero", bad_config(net__max_open_requests=0),
        ConfigurationError, r"net\.max_open_requests"),
    Row("config-dial-timeout-zero", bad_config(net__dial_timeout=0), ConfigurationError,
        r"net\.dial_timeout"),
    Row("config-acks-below-minus-one", bad_config(required_acks=-2), ConfigurationError,
        r"producer\.required_acks"),
    Row("config-return-successes-not-bool", bad_config(return_successes="yes"),
        ConfigurationError, r"producer\.return_successes .*bool"),
    Row("config-retry-section-none", bad_config(retry=None), ConfigurationError,
        r"producer\.retry .*RetryConfig"),
    Row("config-compression-unknown", bad_config(compression="brotli"), ConfigurationError,
        r"producer\.compression"),
    Row("config-zstd-on-old-version",
        lambda e: raised(lambda: AsyncProducer(e.bootstrap, _with(
            config(compression=Compression.ZSTD), "version", (2, 0, 0)))),
        ConfigurationError, r"zstd requires version"),
    Row("config-partitioner-unknown", bad_config(partitioner="sticky"), ConfigurationError,
        r"producer\.partitioner"),
    Row("config-write-timeout-set", bad_config(net__write_timeout=10.0), ConfigurationError,
        r"net\.write_timeout .*is not supported.*net\.read_timeout"),
    Row("config-retry-buffer-cap-set", bad_config(retry__max_buffer_length=4096),
        ConfigurationError, r"producer\.retry\.max_buffer_length .*is not supported"),
    Row("config-flush-messages-without-frequency", bad_config(flush__messages=10),
        ConfigurationError, r"producer\.flush\.messages .*not supported without .*frequency"),
    Row("config-backoff-func-not-seconds", bad_config(retry__backoff_func=lambda r, m: "1s"),
        ConfigurationError, r"producer\.retry\.backoff_func .*must return seconds"),
    Row("config-flush-max-below-messages",
        bad_config(flush__messages=10, flush__max_messages=5), ConfigurationError,
        r"producer\.flush\.max_messages"),
    Row("config-idempotent-acks-local", bad_config(idempotent=True), ConfigurationError,
        r"producer\.required_acks .*WAIT_FOR_ALL"),
    Row("config-idempotent-five-open-requests",
        bad_config(idempotent=True, required_acks=RequiredAcks.WAIT_FOR_ALL),
        ConfigurationError, r"net\.max_open_requests .*must be 1"),
    Row("config-idempotent-no-retries",
        bad_config(idempotent=True, required_acks=RequiredAcks.WAIT_FOR_ALL, retry__max=0,
                   net__max_open_requests=1),
        ConfigurationError, r"producer\.retry\.max .*> 0"),
    Row("sync-without-return-successes",
        lambda e: raised(lambda: SyncProducer(e.bootstrap, config(return_successes=False))),
        ConfigurationError, r"producer\.return_successes .*SyncProducer"),
    Row("sync-without-return-errors",
        lambda e: raised(lambda: SyncProducer(e.bootstrap, config(return_errors=False))),
        ConfigurationError, r"producer\.return_errors .*SyncProducer"),
    # ---- addresses
    Row("addrs-empty-string", bad_addrs(""), ConfigurationError, "at least one broker"),
    Row("addrs-empty-list", bad_addrs([]), ConfigurationError, "at least one broker"),
    Row("addrs-no-port", bad_addrs("localhost"), ConfigurationError, "'localhost'"),
    Row("addrs-port-out-of-range", bad_addrs("127.0.0.1:99999"), ConfigurationError,
        "99999"),
    Row("addrs-port-not-a-number", bad_addrs("127.0.0.1:kafka"), ConfigurationError,
        "127.0.0.1:kafka"),
    Row("addrs-no-host", bad_addrs(":9092"), ConfigurationError, "':9092'"),
    Row("addrs-not-strings", bad_addrs([None]), ConfigurationError, "None"),
    # ---- messages on AsyncProducer.input(): a ProducerError each
    Row("msg-value-int", on_input(value=42), TypeError, "message value must be bytes"),
    Row("msg-key-dict", on_input(key={"k": 1}), TypeError, "message key must be bytes"),
    Row("msg-no-key-no-value", on_input(key=None, value=None), ValueError,
        "at least one: key or value"),
    Row("msg-header-value-int", on_input(headers=[("h", 1)]), TypeError,
        "header value must be bytes or str"),
    Row("msg-header-not-a-pair", on_input(headers=[("h", b"1", b"2")]), TypeError,
        r"header must be a \(key, value\) pair"),
    Row("msg-header-key-int", on_input(headers={1: b"x"}), TypeError,
        "header key must be str or bytes"),
    Row("msg-topic-empty", on_input(topic=""), InvalidTopicError, "topic name is missing"),
    Row("msg-topic-bad-chars", on_input(topic="orders/eu west"), InvalidTopicError,
        "not a valid Kafka topic name"),
    Row("msg-topic-too-long", on_input(topic="t" * 250), InvalidTopicError,
        "not a valid Kafka topic name"),
    Row("msg-topic-dotdot", on_input(topic=".."), InvalidTopicError,
        "not a valid Kafka topic name"),
    Row("msg-topic-none", on_input(topic=None), InvalidTopicError, "topic must be a str"),
    Row("msg-topic-bytes", on_input(topic=b"orders"), InvalidTopicError,
        "topic must be a str, not bytes"),
    Row("msg-over-producer-max-message-bytes", on_input(value=b"x" * (PRODUCER_LIMIT + 1)),
        ConfigurationError, r"producer\.max_message_bytes .*> 10000"),
    Row("msg-over-broker-max-message-bytes",
        on_input(topic=lambda e: e.small, value=b"x" * (4 * TOPIC_LIMIT)), BrokerError,
        "MessageSizeTooLarge"),
    Row("msg-timestamp-out-of-range", on_input(timestamp=1e13), ValueError,
        "seconds, not milliseconds"),
    Row("msg-timestamp-negative", on_input(timestamp=-1.0), ValueError, "before 1970"),
    Row("msg-timestamp-wrong-type", on_input(timestamp="yesterday"), Exception,
        "timestamp"),
    Row("msg-unknown-topic-no-autocreate", unknown_topic_no_autocreate, BrokerError,
        "unknown topic or partition.*auto-creation is off"),
    Row("input-none", raw_input(None), TypeError,
        "input\\(\\) takes ProducerMessage objects, not NoneType"),
    Row("input-dict", raw_input({"topic": "t", "value": b"v"}), TypeError,
        "not dict"),
    # ---- manual partitioner: partition out of range
    Row("manual-partition-too-big", on_manual(3), InvalidPartitionError,
        r"invalid partition index \(3; .*has 3 partitions"),
    Row("manual-partition-default-minus-one", on_manual(-1), InvalidPartitionError,
        r"invalid partition index \(-1"),
    Row("manual-partition-str", on_manual("1"), InvalidPartitionError,
        r"invalid partition index \('1'"),
    # ---- SyncProducer entry points
    Row("sync-send-none", with_mock(sync_call(lambda e: e.sp.send_message(None)),
                                    lambda e: on_mock_sync(e, lambda m: m.send_message(None),
                                                           0, reported=False)), TypeError,
        "takes a ProducerMessage, not NoneType", after=sync_after),
    Row("sync-send-bad-value", sync_send(lambda e: ProducerMessage(e.topic, value=3.5)),
        TypeError, "message value must be bytes", after=sync_after),
    Row("sync-send-bad-topic", sync_send(lambda e: ProducerMessage("no spaces allowed",
                                                                   value=b"v")),
        InvalidTopicError, "not a valid Kafka topic name", after=sync_after),
    Row("sync-send-no-key-no-value", sync_send(lambda e: ProducerMessage(e.topic)),
        ValueError, "at least one: key or value", after=sync_after),
    Row("sync-send-messages-non-message", send_messages_with_a_non_message, TypeError,
        "takes ProducerMessages, not str", after=sync_after),
    Row("sync-send-messages-partial-failure", send_messages_partial, TypeError,
        "message value must be bytes", after=sync_after),
    # ---- lifecycle
    Row("async-send-after-close", send_after_close, ClosedChannelError,
        "send on closed channel"),
    Row("sync-send-after-close", sync_send_after_close, ClosedProducerError,
        "producer that was closed"),
    Row("async-close-twice", close_twice, None),
    Row("sync-close-twice", sync_close_twice, None),
    # ---- our callbacks calling back into the producer
    Row("partitioner-calls-close", callback("partitioner", "async", "close"), RuntimeError,
        r"close\(\) called from the producer's own goroutine"),
    Row("partitioner-calls-send-message", callback("partitioner", "sync", "send_message"),
        RuntimeError, r"send_message\(\) called from the producer's own goroutine"),
    Row("partitioner-calls-sync-close", callback("partitioner", "sync", "close"),
        RuntimeError, r"close\(\) called from the producer's own goroutine"),
    Row("interceptor-calls-close", callback("interceptor", "async", "close"), RuntimeError,
        r"close\(\) called from the producer's own goroutine"),
    Row("interceptor-calls-send-message", callback("interceptor", "sync", "send_message"),
        RuntimeError, r"send_message\(\) called from the producer's own goroutine"),
    Row("interceptor-calls-sync-close", callback("interceptor", "sync", "close"),
        RuntimeError, r"close\(\) called from the producer's own goroutine"),
]

XFAIL: dict[str, str] = {}

# Rows about a message that have no mock side: the broker decides them.
BROKER_ONLY = {
    "msg-over-broker-max-message-bytes": "the topic's max.message.bytes is the broker's check",
    "msg-unknown-topic-no-autocreate": "whether a topic exists is the broker's answer",
}


def _with(c: Config, name: str, value: Any) -> Config:
    setattr(c, name, value)
    return c


def _params() -> list[Any]:
    out = []
    for row in ROWS:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[row.id])] if row.id in XFAIL else []
        out.append(pytest.param(row, id=row.id, marks=marks))
    return out


@pytest.mark.timeout(10)
def test_the_table_covers_every_entry_point() -> None:
    assert len(ROWS) >= 25
    kinds = {row.id.split("-", 1)[0] for row in ROWS}
    assert {"config", "addrs", "msg", "input", "manual", "sync", "async", "partitioner",
            "interceptor"} <= kinds


@pytest.mark.timeout(10)
def test_every_message_row_runs_on_the_mocks_too() -> None:
    message_rows = [row for row in ROWS
                    if row.id.split("-", 1)[0] in ("msg", "input", "manual")
                    or row.id.startswith(("sync-send-bad", "sync-send-no", "sync-send-messages"))]
    assert len(message_rows) >= 20
    missing = [row.id for row in message_rows
               if not hasattr(row.run, "on_mock") and row.id not in BROKER_ONLY]
    assert not missing, f"message rows with no mock side: {missing}"
    assert set(BROKER_ONLY) <= {row.id for row in message_rows}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("row", _params())
def test_bad_input(env: Env, row: Row) -> None:
    try:
        exc = row.run(env)
        if row.expect is None:
            assert exc is None, f"expected no error, got {exc!r}"
        else:
            assert isinstance(exc, row.expect), f"expected {row.expect.__name__}, got {exc!r}"
            assert re.search(row.match, str(exc)), \
                f"{str(exc)!r} does not name the problem ({row.match!r})"
        on_mock = getattr(row.run, "on_mock", None)
        if on_mock is not None and row.id not in BROKER_ONLY:  # the mocks agree, word for word
            mock_exc = on_mock(env)
            assert (type(mock_exc), str(mock_exc)) == (type(exc), str(exc)), \
                f"the mock says {mock_exc!r}, the producer {exc!r}"
        row.after(env)
    finally:
        while env.extra:  # the row's own producers
            p = env.extra.pop()
            try:
                p.close()
            except ProducerErrors:
                pass
