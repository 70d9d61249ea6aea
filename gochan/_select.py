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
    described: list[tuple[str, Any]] = []
    default_index = -1
    kinds = _KINDS
    for index, case in enumerate(cases):
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
            if kind not in (_SEND, _NIL_SEND):
                raise _case_error(index, case)
        else:
            method, value = case, None
            kind = kinds.get(getattr(case, "__func__", None), -1)
            if kind < 0 or kind in (_SEND, _NIL_SEND):
                raise _case_error(index, case)
        chan = method.__self__
        described.append(("send" if kind in (_SEND, _NIL_SEND) else "recv", chan))
        if kind < _NIL_RECV:
            ops.append((index, chan, kind, value))

    count = len(ops)
    if count == 0:
        if default_index >= 0:
            return default_index, None
        waiter = Waiter()
        op = "select (no cases)" if not described else "select"
        block(waiter, op, tuple(described), sys._getframe(1), timeout)
        raise TimeoutError("select timed out")

    # Pass 1: lock in global order.
    if count == 1:
        locks = [ops[0][1]._lock]
    else:
        chans = sorted({op[1] for op in ops}, key=_by_seq)
        locks = [chan._lock for chan in chans]
    for lock in locks:
        lock.acquire()
    try:
        # Pass 2: poll in random order.
        if count <= 4:
            perms = _PERMS[count]
            order: Any = perms[int(_random() * len(perms))]
        else:
            order = list(range(count))
            random.shuffle(order)
        for position in order:
            index, chan, kind, value = ops[position]
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
        for lock in reversed(locks):
            lock.release()

    if not block(waiter, "select", tuple(described), sys._getframe(1), timeout):
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


def _by_seq(chan: Chan[Any]) -> int:
    return chan._seq
