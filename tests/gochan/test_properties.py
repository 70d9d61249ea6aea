"""Property-based tests: random channel programs against a reference model.

``ChannelMachine`` drives channels from the test thread while goroutines sit
parked on them (each parked through ``wait_blocked``, so the order in which they
queued is known), and checks every step against a sequential model of Go's
rules: FIFO buffers, FIFO wait queues, direct hand-off, close waking everyone,
and a select running exactly one ready case (or parking on all of them).

``test_concurrent_programs`` runs random programs on several threads at once,
with short timeouts so nothing can hang, and checks what must hold whatever the
interleaving: no value lost or duplicated, FIFO per sender, close semantics, and
select atomicity.
"""

from __future__ import annotations

import collections
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from gochan_helpers import JOIN_TIMEOUT, spawn, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gochan import Chan, ClosedChannelError, WouldBlock, default, nilchan, select
from gochan._registry import blocked_snapshot

# ======================================================================================
# Sequential reference model
# ======================================================================================

CLOSED_PANIC = "panic"  # the expected outcome of a send that meets a closed channel


@dataclass
class Party:
    """A parked goroutine: a plain send/recv/recv_ok or a select, as the model sees it."""

    form: str  # "send", "recv", "recv_ok" or "select"
    cases: list[tuple[str, int, Any]]  # (kind, channel index or -1 for nil, value)
    spawned: Any = None
    resolved: bool = False
    expected: Any = None


@dataclass
class Entry:
    party: Party
    index: int  # the case index inside the party's call
    value: Any = None


@dataclass
class ModelChan:
    cap: int
    buf: collections.deque[Any] = field(default_factory=collections.deque)
    closed: bool = False
    recvq: collections.deque[Entry] = field(default_factory=collections.deque)
    sendq: collections.deque[Entry] = field(default_factory=collections.deque)

    @staticmethod
    def first_live(queue: collections.deque[Entry]) -> Entry | None:
        while queue and queue[0].party.resolved:
            queue.popleft()  # stale: its party was completed through another case
        return queue[0] if queue else None

    def send_ready(self) -> bool:
        return self.closed or self.first_live(self.recvq) is not None or len(self.buf) < self.cap

    def recv_ready(self) -> bool:
        return bool(self.buf) or self.first_live(self.sendq) is not None or self.closed


def received_form(kind: str, value: Any, ok: bool) -> Any:
    if kind == "recv_ok":
        return (value, ok)
    if kind == "recv":
        return value
    return None  # send


def party_result(party: Party, index: int, value: Any, ok: bool) -> Any:
    kind = party.cases[index][0]
    if party.form == "select":
        return (index, received_form(kind, value, ok))
    return received_form(kind, value, ok)


class ChannelMachine(RuleBasedStateMachine):
    MAX_PARKED = 5

    def __init__(self) -> None:
        super().__init__()
        self.chans: list[Chan[Any]] = []
        self.model: list[ModelChan] = []
        self.parties: list[Party] = []
        self.values = itertools.count()

    # -- model transitions (each resolves the parties it completes) ---------------------

    def resolve(self, party: Party, expected: Any) -> None:
        party.resolved = True
        party.expected = expected

    def model_send(self, ci: int, value: Any) -> str:
        m = self.model[ci]
        if m.closed:
            return CLOSED_PANIC
        entry = m.first_live(m.recvq)
        if entry is not None:
            m.recvq.popleft()
            self.resolve(entry.party, party_result(entry.party, entry.index, value, True))
            return "sent"
        if len(m.buf) < m.cap:
            m.buf.append(value)
            return "sent"
        return "block"

    def model_recv(self, ci: int) -> tuple[str, Any, bool]:
        m = self.model[ci]
        if m.buf:
            value = m.buf.popleft()
            entry = m.first_live(m.sendq)
            if entry is not None:
                m.sendq.popleft()
                m.buf.append(entry.value)
                self.resolve(entry.party, party_result(entry.party, entry.index, None, True))
            return "received", value, True
        entry = m.first_live(m.sendq)
        if entry is not None:
            m.sendq.popleft()
            self.resolve(entry.party, party_result(entry.party, entry.index, None, True))
            return "received", entry.value, True
        if m.closed:
            return "received", None, False
        return "block", None, False

    def model_close(self, ci: int) -> str:
        m = self.model[ci]
        if m.closed:
            return "close of closed"
        m.closed = True
        for entry in m.recvq:
            if not entry.party.resolved:
                self.resolve(entry.party, party_result(entry.party, entry.index, None, False))
        for entry in m.sendq:
            if not entry.party.resolved:
                self.resolve(entry.party, CLOSED_PANIC)
        m.recvq.clear()
        m.sendq.clear()
        return "closed"

    def case_ready(self, kind: str, ci: int) -> bool:
        if ci < 0:
            return False  # nilchan
        m = self.model[ci]
        return m.send_ready() if kind == "send" else m.recv_ready()

    # -- checking the goroutines the model says were completed ---------------------------

    def check_resolved(self) -> None:
        for party in [p for p in self.parties if p.resolved]:
            self.parties.remove(party)
            spawned = party.spawned
            spawned.join()
            if party.expected == CLOSED_PANIC:
                assert isinstance(spawned.error, ClosedChannelError), spawned.error
                assert "send on closed channel" in str(spawned.error)
            else:
                assert spawned.error is None, spawned.error
                assert spawned.value == party.expected
        for party in self.parties:
            assert not party.spawned.done, f"{party} finished but the model has it parked"

    def park(self, party: Party, call: Any, *args: Any) -> None:
        """Start ``call`` in a goroutine and wait until it is queued on its channels."""
        for index, (kind, ci, value) in enumerate(party.cases):
            if ci >= 0:
                m = self.model[ci]
                (m.sendq if kind == "send" else m.recvq).append(Entry(party, index, value))
        party.spawned = spawn(call, *args)
        ident = party.spawned.goroutine.thread.ident
        wait_until(lambda: any(b.ident == ident for b in blocked_snapshot()))
        self.parties.append(party)

    # -- rules -------------------------------------------------------------------------

    @initialize(caps=st.lists(st.integers(0, 2), min_size=1, max_size=3))
    def make_channels(self, caps: list[int]) -> None:
        self.chans = [Chan(c) for c in caps]
        self.model = [ModelChan(c) for c in caps]

    def ci(self, raw: int) -> int:
        return raw % len(self.chans)

    @rule(raw=st.integers(0, 2), how=st.sampled_from(["send", "try_send", "timeout"]))
    def send(self, raw: int, how: str) -> None:
        ci, value = self.ci(raw), next(self.values)
        ch = self.chans[ci]
        expected = self.model_send(ci, value)
        try:
            if how == "try_send":
                ch.try_send(value)
            elif how == "timeout":
                ch.send(value, timeout=0.001)
            else:
                ch.send(value, timeout=0 if expected == "block" else None)
        except ClosedChannelError as exc:
            assert expected == CLOSED_PANIC
            assert "send on closed channel" in str(exc)
        except WouldBlock:
            assert expected == "block" and how == "try_send"
        except TimeoutError:
            assert expected == "block" and how != "try_send"
        else:
            assert expected == "sent"
        self.check_resolved()

    @rule(raw=st.integers(0, 2), how=st.sampled_from(["recv", "recv_ok", "try_recv", "timeout"]))
    def recv(self, raw: int, how: str) -> None:
        ci = self.ci(raw)
        ch = self.chans[ci]
        outcome, value, ok = self.model_recv(ci)
        try:
            if how == "recv":
                got: Any = ch.recv(timeout=0 if outcome == "block" else None)
                assert got == value
            elif how == "recv_ok":
                got = ch.recv_ok(timeout=0 if outcome == "block" else None)
                assert got == (value, ok)
            elif how == "timeout":
                got = ch.recv_ok(timeout=0.001)
                assert got == (value, ok)
            else:
                assert ch.try_recv() == (value, ok)
        except WouldBlock:
            assert outcome == "block" and how == "try_recv"
        except TimeoutError:
            assert outcome == "block" and how != "try_recv"
        else:
            assert outcome == "received"
        self.check_resolved()

    @rule(raw=st.integers(0, 2))
    def close(self, raw: int) -> None:
        ci = self.ci(raw)
        expected = self.model_close(ci)
        try:
            self.chans[ci].close()
        except ClosedChannelError as exc:
            assert expected == "close of closed"
            assert "close of closed channel" in str(exc)
        else:
            assert expected == "closed"
        self.check_resolved()

    @rule(raw=st.integers(0, 2), form=st.sampled_from(["send", "recv", "recv_ok"]))
    def park_one(self, raw: int, form: str) -> None:
        ci = self.ci(raw)
        kind = "send" if form == "send" else form
        if len(self.parties) >= self.MAX_PARKED or self.case_ready(kind, ci):
            return  # it would not park; the main-thread rules cover that
        value = next(self.values) if form == "send" else None
        party = Party(form, [(kind, ci, value)])
        ch = self.chans[ci]
        if form == "send":
            self.park(party, ch.send, value)
        else:
            self.park(party, getattr(ch, form))
        self.check_resolved()

    @rule(
        spec=st.lists(
            st.tuples(st.sampled_from(["recv", "recv_ok", "send", "nil"]), st.integers(0, 2)),
            min_size=1,
            max_size=4,
        ),
        with_default=st.booleans(),
        park=st.booleans(),
    )
    def run_select(self, spec: list[tuple[str, int]], with_default: bool, park: bool) -> None:
        cases: list[tuple[str, int, Any]] = []
        args: list[Any] = []
        for kind, raw in spec:
            if kind == "nil":
                nil_kind = "send" if raw % 2 else "recv"
                value = next(self.values) if nil_kind == "send" else None
                cases.append((nil_kind, -1, value))
                args.append((nilchan.send, value) if nil_kind == "send" else nilchan.recv)
                continue
            ci = self.ci(raw)
            ch = self.chans[ci]
            if kind == "send":
                value = next(self.values)
                cases.append(("send", ci, value))
                args.append((ch.send, value))
            else:
                cases.append((kind, ci, None))
                args.append(getattr(ch, kind))
        ready = [i for i, (kind, ci, _) in enumerate(cases) if self.case_ready(kind, ci)]
        if with_default:
            args.append(default)
        has_real = any(ci >= 0 for _, ci, _ in cases)
        if not ready and not with_default and park and has_real:
            if len(self.parties) < self.MAX_PARKED:
                self.park(Party("select", cases), select, *args)
            return
        try:
            if ready or with_default:
                index, received = select(*args)
            else:
                with pytest.raises(TimeoutError):
                    select(*args, timeout=0)
                return
        except ClosedChannelError as exc:
            assert "send on closed channel" in str(exc)
            assert any(cases[i][0] == "send" and self.model[cases[i][1]].closed for i in ready)
            return
        if index == len(cases):
            assert with_default and not ready and received is None
            return
        assert index in ready, (index, ready)
        kind, ci, value = cases[index]
        if kind == "send":
            assert not self.model[ci].closed  # a closed send case raises instead
            assert self.model_send(ci, value) == "sent"
            assert received is None
        else:
            outcome, value, ok = self.model_recv(ci)
            assert outcome == "received"
            assert received == received_form(kind, value, ok)
        self.check_resolved()

    @invariant()
    def channel_invariants_hold(self) -> None:
        for ch in self.chans:
            ch._check_invariants()

    @invariant()
    def lengths_and_closed_flags_match(self) -> None:
        for ch, m in zip(self.chans, self.model, strict=True):
            assert len(ch) == len(m.buf)
            assert ch.closed == m.closed
            assert ch.cap == m.cap

    def teardown(self) -> None:
        # Close everything: every parked party wakes, as the model predicts.
        for ci, m in enumerate(self.model):
            if not m.closed:
                self.model_close(ci)
                self.chans[ci].close()
        self.check_resolved()
        assert not self.parties
        for ch, m in zip(self.chans, self.model, strict=True):
            assert list(ch) == list(m.buf)


TestChannelMachine = ChannelMachine.TestCase
TestChannelMachine.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestChannelMachine = pytest.mark.timeout(120)(TestChannelMachine)


# ======================================================================================
# Concurrent programs: invariants that hold for every interleaving
# ======================================================================================

OP_TIMEOUT = 0.01  # every blocking op gives up quickly: a random program cannot hang


@dataclass
class Event:
    """One operation as it happened: what, on which channel, its outcome, and when.

    ``start`` and ``end`` come from one global counter taken before the call and
    after it returned, so ``a.end < b.start`` means a happened before b.
    """

    thread: int
    kind: str  # "send", "recv", "close"
    chan: int
    value: Any
    outcome: str  # "sent", "received", "drained", "timeout", "would_block", "panic", "closed"
    start: int
    end: int


op_strategy = st.one_of(
    st.tuples(st.sampled_from(["send", "try_send", "recv", "try_recv"]), st.integers(0, 2)),
    st.tuples(st.just("close"), st.integers(0, 2)),
    st.tuples(
        st.just("select"),
        st.lists(
            st.tuples(st.sampled_from(["send", "recv_ok"]), st.integers(0, 2)),
            min_size=1,
            max_size=3,
        ),
        st.booleans(),
    ),
)

program_strategy = st.tuples(
    st.lists(st.integers(0, 2), min_size=1, max_size=3),  # channel capacities
    st.lists(st.lists(op_strategy, min_size=1, max_size=10), min_size=2, max_size=4),
)


def run_thread(
    me: int, ops: list[Any], chans: list[Chan[Any]], events: list[Event], stamp: Any
) -> None:
    seq = itertools.count()
    n = len(chans)

    def record(kind: str, ci: int, value: Any, outcome: str, start: int) -> None:
        events.append(Event(me, kind, ci, value, outcome, start, stamp()))

    for op in ops:
        if op[0] == "select":
            _, spec, with_default = op
            cases: list[Any] = []
            meta: list[tuple[str, int, Any]] = []
            for kind, raw in spec:
                ci = raw % n
                if kind == "send":
                    value = (me, next(seq))
                    cases.append((chans[ci].send, value))
                    meta.append(("send", ci, value))
                else:
                    cases.append(chans[ci].recv_ok)
                    meta.append(("recv", ci, None))
            if with_default:
                cases.append(default)
            start = stamp()
            try:
                index, received = select(*cases, timeout=None if with_default else OP_TIMEOUT)
            except TimeoutError:
                continue
            except ClosedChannelError:
                # Some send case on a closed channel was chosen; nothing was sent.
                continue
            if index == len(meta):
                continue  # default
            kind, ci, value = meta[index]
            if kind == "send":
                record("send", ci, value, "sent", start)
            else:
                got, ok = received
                record("recv", ci, got, "received" if ok else "drained", start)
            continue
        kind, raw = op
        ci = raw % n
        ch = chans[ci]
        start = stamp()
        if kind in ("send", "try_send"):
            value = (me, next(seq))
            try:
                if kind == "send":
                    ch.send(value, timeout=OP_TIMEOUT)
                else:
                    ch.try_send(value)
            except (TimeoutError, WouldBlock):
                record("send", ci, value, "timeout", start)
            except ClosedChannelError:
                record("send", ci, value, "panic", start)
            else:
                record("send", ci, value, "sent", start)
        elif kind in ("recv", "try_recv"):
            try:
                got, ok = ch.recv_ok(timeout=OP_TIMEOUT) if kind == "recv" else ch.try_recv()
            except (TimeoutError, WouldBlock):
                continue
            record("recv", ci, got, "received" if ok else "drained", start)
        else:
            try:
                ch.close()
            except ClosedChannelError:
                record("close", ci, None, "panic", start)
            else:
                record("close", ci, None, "closed", start)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=program_strategy)
@pytest.mark.timeout(120)
def test_concurrent_programs(program: tuple[list[int], list[list[Any]]]) -> None:
    caps, threads = program
    chans: list[Chan[Any]] = [Chan(c) for c in caps]
    events: list[Event] = []
    stamp = itertools.count().__next__
    lock = threading.Lock()

    def safe_stamp() -> int:
        with lock:
            return stamp()

    runners = [
        spawn(run_thread, me, ops, chans, events, safe_stamp) for me, ops in enumerate(threads)
    ]
    for r in runners:
        r.result(JOIN_TIMEOUT)
    for ch in chans:
        ch._check_invariants()  # quiescent: every thread has finished
    leftover: list[list[Any]] = []
    for ch in chans:
        values = []
        while True:
            try:
                value, ok = ch.try_recv()
            except WouldBlock:
                break
            if not ok:
                break
            values.append(value)
        leftover.append(values)

    sent = [e for e in events if e.kind == "send" and e.outcome == "sent"]
    received = [e for e in events if e.kind == "recv" and e.outcome == "received"]
    closes = [e for e in events if e.kind == "close" and e.outcome == "closed"]

    # No value lost or duplicated; a value arrives on the channel it was sent to.
    acked = collections.Counter((e.chan, e.value) for e in sent)
    delivered = collections.Counter((e.chan, e.value) for e in received)
    for ci, values in enumerate(leftover):
        delivered.update((ci, v) for v in values)
    assert acked == delivered

    # FIFO per channel per sender, for each receiver and for what stays buffered.
    for receiver in {e.thread for e in received}:
        last: dict[tuple[int, int], int] = {}
        for e in sorted((e for e in received if e.thread == receiver), key=lambda e: e.end):
            key = (e.chan, e.value[0])
            assert last.get(key, -1) < e.value[1], "values from one sender out of order"
            last[key] = e.value[1]
    for ci, values in enumerate(leftover):
        for sender in {v[0] for v in values}:
            seqs = [v[1] for v in values if v[0] == sender]
            assert seqs == sorted(seqs)
            taken = [e.value[1] for e in received if e.chan == ci and e.value[0] == sender]
            assert not taken or max(taken) < min(seqs), "a later value overtook a buffered one"

    # Close: at most once per channel; later closes and sends raise; a drained
    # receive means closed and empty for good.
    for ci in range(len(chans)):
        mine = [e for e in closes if e.chan == ci]
        assert len(mine) <= 1
        close = mine[0] if mine else None
        assert chans[ci].closed == (close is not None)
        for e in events:
            if e.chan != ci:
                continue
            if e.kind == "close" and e.outcome == "panic":
                assert close is not None and close.start < e.end
            if e.kind == "send" and e.outcome == "panic":
                assert close is not None and close.start < e.end
            if e.kind == "send" and e.outcome == "sent" and close is not None:
                assert e.start < close.end, "a send that began after close succeeded"
            if e.kind == "recv" and e.outcome == "drained":
                assert close is not None and close.start < e.end
                assert e.value is None
                later = [r for r in received if r.chan == ci and r.start > e.end]
                assert not later, "received a value after the channel was seen drained"
        if close is not None:
            assert len(chans[ci]) == 0
