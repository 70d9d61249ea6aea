"""``select``: Go's ``selectgo`` in three passes.

1. Lock every distinct channel of the cases in a fixed global order (creation
   number), so two selects over overlapping channels cannot deadlock.
2. Poll the cases in a uniformly random order; the first that can proceed runs
   while every lock is held, so exactly one case runs. With ``default`` and none
   ready, return at once.
3. Otherwise queue one :class:`Entry` per case, all sharing one :class:`Waiter`,
   release the locks and park. The first party to claim the waiter completes
   exactly one case; the owner then unlinks the losing entries.
"""

from __future__ import annotations

import itertools
import random
import sys
from typing import Any

from ._chan import NOTHING, SEND_ON_CLOSED, Chan, _NilChan
from ._errors import ClosedChannelError
from ._registry import block
from ._waiter import Entry, Waiter, unlink

__all__ = ["default", "select"]

_RECV, _RECV_OK, _SEND, _NIL_RECV, _NIL_SEND = range(5)

# What each case form means, looked up by the bound method's function.
_KINDS: dict[Any, int] = {
    Chan.recv: _RECV,
    Chan.recv_ok: _RECV_OK,
    Chan.send: _SEND,
    _NilChan.recv: _NIL_RECV,
    _NilChan.recv_ok: _NIL_RECV,
    _NilChan.send: _NIL_SEND,
}

# Every permutation of up to 4 cases, so the common sizes pick a uniformly random
# poll order with one random() call.
_chan_recv = Chan.recv
_chan_recv_ok = Chan.recv_ok
_nil_recv = _NilChan.recv
_nil_recv_ok = _NilChan.recv_ok

_PERMS = [list(itertools.permutations(range(n))) for n in range(5)]
_random = random.random


class _Default:
    """The ``default`` case of a select."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "default"


default = _Default()
"""The ``default`` case: ``select(..., default)`` never blocks."""


def _case_error(index: int, case: object) -> TypeError:
    return TypeError(
        f"select case {index} must be ch.recv, ch.recv_ok, (ch.send, value) or default, "
        f"not {case!r}"
    )


def select(*cases: Any, timeout: float | None = None) -> tuple[int, Any]:
    """Run exactly one of ``cases``, Go's ``select`` statement.

    A case is a channel's bound ``recv`` or ``recv_ok``, a tuple ``(ch.send, value)``,
    or :data:`default`. Returns ``(index, received)``: the index of the case that ran
    and what it received (``(value, ok)`` for ``recv_ok``; ``None`` for a send or
    ``default``).

    Blocks until a case can proceed, unless ``default`` is given (then it never
    blocks). When several are ready, one is chosen uniformly at random. Cases on
    ``nilchan`` are never ready; with no other case and no default the call blocks
    forever. ``timeout`` (seconds) bounds the wait; on expiry no case ran.

    Raises:
        ClosedChannelError: the chosen case sends on a closed channel.
        TimeoutError: ``timeout`` ran out first.
        TypeError: a case is not one of the forms above.

    Concurrency: every channel involved is locked (in creation order) while the
    cases are polled, so the choice is atomic: a send case that did not run
    delivered nothing, and no value is lost or duplicated.
    """
    ops: list[tuple[int, Any, int, Any]] = []  # (case index, channel, kind, value)
    # Pass 1 and the first half of pass 2, in one sweep: try-lock each channel in case
    # order and, while holding it, note whether its case looks ready. A thread that
    # never blocks while holding a lock cannot take part in a deadlock, and a channel
    # stays locked once looked at, so the notes hold when the last lock is taken. If
    # a lock is busy (or a channel appears twice) we fall back to the global order.
    locks: list[Any] = []
    ready: list[tuple[int, Any, int, Any]] = []
    trylock = True
    default_index = -1
    kinds = _KINDS
    has_nil = False
    index = -1
    try:
        for case in cases:
            index += 1
            if case is default:
                if default_index >= 0:
                    raise TypeError("select: multiple defaults")
                default_index = index
                continue
            if type(case) is tuple:
                if len(case) != 2:
                    raise _case_error(index, case)
                method, value = case
                kind = kinds.get(getattr(method, "__func__", None), -1)
                if kind != _SEND and kind != _NIL_SEND:
                    raise _case_error(index, case)
            else:
                try:
                    func = case.__func__
                except AttributeError:
                    raise _case_error(index, case) from None
                if func is _chan_recv:
                    kind = _RECV
                elif func is _chan_recv_ok:
                    kind = _RECV_OK
                elif func is _nil_recv or func is _nil_recv_ok:
                    has_nil = True
                    continue
                else:
                    raise _case_error(index, case)
                method = case
                value = None
            if kind >= _NIL_RECV:
                has_nil = True
                continue
            chan = method.__self__
            op = (index, chan, kind, value)
            ops.append(op)
            if trylock:
                lock = chan._lock
                if lock.acquire(False):
                    locks.append(lock)
                    if (
                        (chan._closed or chan._recvq or len(chan._buf) < chan._cap)
                        if kind == _SEND
                        else (chan._buf or chan._sendq or chan._closed)
                    ):
                        ready.append(op)
                else:
                    trylock = False
    except BaseException:
        for lock in locks:
            lock.release()
        raise

    if not ops:
        if default_index >= 0:
            return default_index, None
        waiter = Waiter()
        op_name = "select" if has_nil else "select (no cases)"
        block(waiter, op_name, _describe(cases), sys._getframe(1), timeout)
        raise TimeoutError("select timed out")

    if not trylock:
        for lock in locks:
            lock.release()
        chans = sorted({op[1] for op in ops}, key=_by_seq)
        locks = [chan._lock for chan in chans]
        for lock in locks:
            lock.acquire()
        ready = [
            op
            for op in ops
            if (
                (op[1]._closed or op[1]._recvq or len(op[1]._buf) < op[1]._cap)
                if op[2] == _SEND
                else (op[1]._buf or op[1]._sendq or op[1]._closed)
            )
        ]
    try:
        # Pass 2: try the cases that looked ready in a uniformly random order (a
        # queue holding only stale entries is not ready after all).
        if ready:
            nready = len(ready)
            if nready > 1:
                if nready <= 4:
                    perms = _PERMS[nready]
                    perm = perms[int(_random() * len(perms))]
                    ready = [ready[i] for i in perm]
                else:
                    random.shuffle(ready)
            for index, chan, kind, value in ready:
                if kind == _SEND:
                    if chan._closed:
                        raise ClosedChannelError(SEND_ON_CLOSED)
                    if chan._send_locked(value):
                        return index, None
                else:
                    received = chan._recv_locked()
                    if received is not NOTHING:
                        return index, ((received, True) if kind == _RECV_OK else received)
                    if chan._closed:
                        return index, ((None, False) if kind == _RECV_OK else None)
        if default_index >= 0:
            return default_index, None
        if timeout is not None and timeout <= 0:
            raise TimeoutError("select timed out")
        # Pass 3 (first half): one entry per case, one waiter for all.
        waiter = Waiter()
        for index, chan, kind, value in ops:
            queue = chan._sendq if kind == _SEND else chan._recvq
            queue.append(Entry(waiter, index, value, chan._lock, queue))
    finally:
        for lock in locks:
            lock.release()

    if not block(waiter, "select", _describe(cases), sys._getframe(1), timeout):
        raise TimeoutError("select timed out")
    # Pass 3 (second half): drop the losing entries from their queues.
    unlink(waiter)
    index = waiter.index
    kind = next(op[2] for op in ops if op[0] == index)
    if kind == _SEND:
        if not waiter.ok:
            raise ClosedChannelError(SEND_ON_CLOSED)
        return index, None
    if kind == _RECV_OK:
        return index, (waiter.value, waiter.ok)
    return index, waiter.value


def _describe(cases: tuple[Any, ...]) -> tuple[tuple[str, Any], ...]:
    """``(kind, channel)`` pairs for the registry; only a select that blocks needs them."""
    out = []
    for case in cases:
        if case is default:
            continue
        if type(case) is tuple:
            out.append(("send", case[0].__self__))
        else:
            out.append(("recv", case.__self__))
    return tuple(out)


def _by_seq(chan: Chan[Any]) -> int:
    return chan._seq
