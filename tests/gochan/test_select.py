"""``select`` (``gochan/_select.py``): the spec's select rules, one test each, plus fairness."""

from __future__ import annotations

import collections
import time

import pytest
from gochan_helpers import spawn, wait_blocked

from gochan import Chan, ClosedChannelError, WouldBlock, default, nilchan, select

# -- blocking, results -----------------------------------------------------------------


def test_select_blocks_until_one_case_can_proceed() -> None:
    a: Chan[str] = Chan()
    b: Chan[str] = Chan()
    s = spawn(select, a.recv, b.recv)
    wait_blocked(1, op="select", chan=b)
    assert not s.done
    b.send("vb")
    assert s.result() == (1, "vb")
    # The losing case was withdrawn: nobody is waiting on a any more.
    with pytest.raises(WouldBlock):
        a.try_send("va")


def test_select_result_forms() -> None:
    a: Chan[str] = Chan(1)
    b: Chan[str] = Chan(1)
    c: Chan[str] = Chan(1)
    a.send("x")
    assert select(a.recv) == (0, "x")
    b.send("y")
    assert select(a.recv, b.recv_ok) == (1, ("y", True))
    assert select(a.recv, b.recv_ok, (c.send, "z")) == (2, None)
    assert c.recv() == "z"


def test_select_recv_ok_on_closed_gives_none_false() -> None:
    a: Chan[int] = Chan()
    a.close()
    assert select(a.recv_ok) == (0, (None, False))
    assert select(a.recv) == (0, None)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_select_default_when_nothing_ready(position: int) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan(1)
    b.send(0)  # full: a send case on b is not ready
    cases: list[object] = [a.recv, (b.send, 1)]
    cases.insert(position, default)
    assert select(*cases) == (position, None)
    assert len(b) == 1 and b.recv() == 0


def test_select_default_never_chosen_when_a_case_is_ready() -> None:
    a: Chan[int] = Chan(1)
    for i in range(200):
        a.send(i)
        assert select(default, a.recv) == (1, i)


def test_select_with_only_default_returns_default() -> None:
    assert select(default) == (0, None)


def test_select_rejects_bad_cases() -> None:
    a: Chan[int] = Chan()
    for bad in (a, a.close, (a.recv, 1), (a.send,), (a.send, 1, 2), a.send, 42):
        with pytest.raises(TypeError):
            select(bad)
    with pytest.raises(TypeError):
        select(a.recv, default, default)


# -- exactly one case, atomically ------------------------------------------------------


def test_select_runs_exactly_one_of_several_ready_receives() -> None:
    chans: list[Chan[int]] = [Chan(1) for _ in range(3)]
    for i, ch in enumerate(chans):
        ch.send(i)
    index, value = select(*(ch.recv for ch in chans))
    assert value == index
    assert [len(ch) for ch in chans] == [0 if i == index else 1 for i in range(3)]


def test_select_runs_exactly_one_of_several_ready_sends() -> None:
    chans: list[Chan[int]] = [Chan(1) for _ in range(3)]
    index, value = select(*((ch.send, i) for i, ch in enumerate(chans)))
    assert value is None
    assert [len(ch) for ch in chans] == [1 if i == index else 0 for i in range(3)]
    assert chans[index].recv() == index


def test_parked_select_send_case_not_run_delivers_nothing() -> None:
    a: Chan[str] = Chan()
    b: Chan[str] = Chan()
    s = spawn(select, (a.send, "offered"), b.recv)
    wait_blocked(1, op="select", chan=a)
    b.send("taken")
    assert s.result() == (1, "taken")
    # The offer on a was withdrawn with the select: nothing to receive.
    with pytest.raises(WouldBlock):
        a.try_recv()
    with pytest.raises(TimeoutError):
        a.recv(timeout=0.02)


def test_parked_select_recv_case_not_run_takes_nothing() -> None:
    a: Chan[str] = Chan()
    b: Chan[str] = Chan()
    s = spawn(select, (a.send, "offered"), b.recv)
    wait_blocked(1, op="select", chan=a)
    assert a.recv() == "offered"
    assert s.result() == (0, None)
    # The receive on b was withdrawn with the select.
    with pytest.raises(WouldBlock):
        b.try_send("late")


def test_parked_select_same_channel_both_directions() -> None:
    # A select never rendezvouses with itself; a third party completes one case.
    ch: Chan[str] = Chan()
    s = spawn(select, ch.recv, (ch.send, "mine"))
    wait_blocked(1, op="select", chan=ch)
    assert ch.recv() == "mine"
    assert s.result() == (1, None)
    with pytest.raises(WouldBlock):
        ch.try_send("x")


def test_select_timeout_runs_no_case() -> None:
    a: Chan[str] = Chan()
    b: Chan[str] = Chan()
    with pytest.raises(TimeoutError):
        select((a.send, "offered"), b.recv, timeout=0.02)
    with pytest.raises(TimeoutError):
        select((a.send, "offered"), b.recv, timeout=0)
    with pytest.raises(WouldBlock):
        a.try_recv()
    with pytest.raises(WouldBlock):
        b.try_send("x")


# -- closed channels -------------------------------------------------------------------


def test_select_send_case_on_closed_channel_raises_when_chosen() -> None:
    a: Chan[int] = Chan()
    a.close()
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        select((a.send, 1))
    with pytest.raises(ClosedChannelError, match="send on closed channel"):
        select((a.send, 1), default)  # a closed channel's send case is "ready"


def test_select_closed_send_case_raises_only_when_chosen() -> None:
    closed: Chan[int] = Chan()
    closed.close()
    ready: Chan[int] = Chan(1)
    outcomes = collections.Counter()
    for _ in range(200):
        ready.send(0)
        try:
            index, _ = select((closed.send, 1), ready.recv)
        except ClosedChannelError:
            outcomes["raised"] += 1
            ready.recv()
        else:
            assert index == 1
            outcomes["received"] += 1
    assert outcomes["raised"] > 0 and outcomes["received"] > 0


def test_select_receive_case_on_closed_channel_is_always_ready() -> None:
    a: Chan[int] = Chan()
    a.close()
    for _ in range(100):
        assert select(a.recv_ok, default) == (0, (None, False))


def test_close_wakes_parked_select_receive() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    s1 = spawn(select, a.recv, b.recv)
    s2 = spawn(select, b.recv_ok, a.recv_ok)
    wait_blocked(2, op="select", chan=a)
    a.close()
    assert s1.result() == (0, None)
    assert s2.result() == (1, (None, False))


def test_close_wakes_parked_select_send_with_panic() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    s = spawn(select, (a.send, 1), b.recv)
    wait_blocked(1, op="select", chan=a)
    a.close()
    s.join()
    assert isinstance(s.error, ClosedChannelError)
    assert "send on closed channel" in str(s.error)
    with pytest.raises(WouldBlock):
        b.try_send(2)


# -- nilchan ---------------------------------------------------------------------------


def test_nilchan_cases_are_never_ready() -> None:
    assert select(nilchan.recv, nilchan.recv_ok, (nilchan.send, 1), default) == (3, None)
    a: Chan[int] = Chan(1)
    for i in range(300):
        a.send(i)
        assert select(nilchan.recv, (nilchan.send, 1), a.recv, nilchan.recv_ok) == (2, i)


def test_select_with_only_nil_cases_blocks_forever() -> None:
    s = spawn(select, nilchan.recv, (nilchan.send, 1), timeout=0.3)
    wait_blocked(1, op="select")
    assert not s.done
    s.join()
    assert isinstance(s.error, TimeoutError)


def test_select_with_no_cases_blocks_forever() -> None:
    s = spawn(select, timeout=0.3)
    wait_blocked(1, op="select (no cases)")
    assert not s.done
    s.join()
    assert isinstance(s.error, TimeoutError)
    with pytest.raises(TimeoutError):
        select(timeout=0)


# -- fairness: several ready cases, one chosen uniformly at random -----------------------

TRIALS = 10_000


def _assert_uniform(counts: collections.Counter[int], cases: int, trials: int) -> None:
    # +-5% of the trials around trials/cases: 10+ standard deviations, never flakes.
    expected = trials / cases
    for index in range(cases):
        assert abs(counts[index] - expected) <= 0.05 * trials, counts


@pytest.mark.parametrize("cases", [2, 3, 6])
def test_select_fairness_between_ready_receives(cases: int) -> None:
    chans: list[Chan[int]] = [Chan(1) for _ in range(cases)]
    for ch in chans:
        ch.send(0)
    recvs = [ch.recv for ch in chans]
    counts: collections.Counter[int] = collections.Counter()
    for _ in range(TRIALS):
        index, _ = select(*recvs)
        counts[index] += 1
        chans[index].send(0)
    _assert_uniform(counts, cases, TRIALS)


def test_select_fairness_between_ready_sends() -> None:
    a: Chan[int] = Chan(1)
    b: Chan[int] = Chan(1)
    counts: collections.Counter[int] = collections.Counter()
    for _ in range(TRIALS):
        index, _ = select((a.send, 0), (b.send, 1), default)
        counts[index] += 1
        (a, b)[index].recv()
    assert counts[2] == 0
    _assert_uniform(counts, 2, TRIALS)


def test_select_fairness_between_closed_channels() -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    a.close()
    b.close()
    counts = collections.Counter(select(a.recv, b.recv)[0] for _ in range(TRIALS))
    _assert_uniform(counts, 2, TRIALS)


def test_parked_select_on_one_channel_twice_takes_one_value() -> None:
    ch: Chan[int] = Chan()
    s = spawn(select, ch.recv, ch.recv_ok)
    wait_blocked(1, op="select", chan=ch)
    ch.send(1)
    index, value = s.result()
    assert (index, value) in ((0, 1), (1, (1, True)))
    # Both of its entries are gone: nobody takes a second value.
    with pytest.raises(WouldBlock):
        ch.try_send(2)


def test_ready_select_on_one_channel_twice_takes_one_value() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    ch.send(2)
    index, value = select(ch.recv, ch.recv)
    assert index in (0, 1) and value == 1
    assert len(ch) == 1


def test_select_many_cases_uses_every_index() -> None:
    # More cases than the precomputed permutations cover: the shuffle path.
    chans: list[Chan[int]] = [Chan(1) for _ in range(7)]
    for i, ch in enumerate(chans):
        ch.send(i)
    seen = set()
    for _ in range(7):
        index, value = select(*(ch.recv for ch in chans))
        assert index == value
        seen.add(index)
    assert seen == set(range(7))


@pytest.mark.parametrize("ready", [True, False])
def test_select_with_default_and_a_busy_channel_lock_takes_the_global_order(ready: bool) -> None:
    # A non-blocking select skips recording the cases that are not ready; when a lock is
    # busy it must start over recording them all, then lock in the global order (so it
    # waits for the busy lock instead of returning default without looking).
    a: Chan[int] = Chan(1)
    b: Chan[int] = Chan(1)
    if ready:
        b.send(7)
    b._lock.acquire()  # busy: held by "another operation"
    try:
        s = spawn(select, a.recv, b.recv, default)
        time.sleep(0.05)  # let it meet the busy lock (the outcome does not depend on it)
        assert not s.done
    finally:
        b._lock.release()
    assert s.result() == ((1, 7) if ready else (2, None))
