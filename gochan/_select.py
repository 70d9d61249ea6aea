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
from typing import Any, Final

from gochan._errors import ClosedChannelError

from ._chan import NOTHING, SEND_ON_CLOSED, Chan, _NilChan
from ._registry import block
from ._waiter import Entry, Waiter, unlink

__all__ = ["default", "enqueue", "finish", "poll", "select"]

# Final: the compiled build inlines them (no module-dict lookup per case).
_RECV: Final = 0
_RECV_OK: Final = 1
_SEND: Final = 2

# Every permutation of up to 4 cases, so the common sizes pick a uniformly random
# poll order with one random() call.
_PERMS: Final = [list(itertools.permutations(range(n))) for n in range(5)]
_random: Final = random.random


class _Default:
    """The ``default`` case of a select."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "default"


default: Final = _Default()
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
    result, ops, locks = poll(cases)
    if result is not None:
        return result
    if not ops:
        block(Waiter(), _blocked_op(cases), _describe(cases), sys._getframe(0), timeout)
        raise TimeoutError("select timed out")
    try:
        if timeout is not None and timeout <= 0:
            raise TimeoutError("select timed out")
        waiter = Waiter()
        enqueue(waiter, ops)
    finally:
        for lock in locks:
            lock.release()
    if not block(waiter, "select", _describe(cases), sys._getframe(0), timeout):
        raise TimeoutError("select timed out")
    return finish(waiter, ops)


Op = tuple[int, Chan[Any], int, Any]  # (case index, channel, kind, value)


def poll(cases: tuple[Any, ...]) -> tuple[tuple[int, Any] | None, list[Op], list[Any]]:
    """Passes 1 and 2: ``(result, ops, locks)``.

    If a case ran (or ``default`` applies), ``result`` is ``(index, received)`` and
    no lock is held. Otherwise ``result`` is ``None`` and every lock in ``locks`` is
    still held, for the caller to queue its waiter with :func:`enqueue` and release
    them; ``ops`` is empty when only ``nilchan`` cases (or none) were given.

    Pass 1 and the first half of pass 2 are one sweep: each channel is try-locked in
    case order and, while held, its case noted ready or not. A thread that never
    blocks while holding a lock cannot take part in a deadlock, and a channel stays
    locked once looked at, so the notes hold when the last lock is taken. If a lock
    is busy (or a channel appears twice) we fall back to the global order.
    """
    default_index = -1
    for index, case in enumerate(cases):
        if case is default:
            if default_index >= 0:
                raise TypeError("select: multiple defaults")
            default_index = index
    # With a default the select never queues, so it needs no record of the cases that
    # are not ready (saves an allocation per case on the non-blocking path).
    return _poll(cases, default_index, default_index < 0)


def _poll(
    cases: tuple[Any, ...], default_index: int, record: bool
) -> tuple[tuple[int, Any] | None, list[Op], list[Any]]:
    """:func:`poll` after the default was found; ``record``: list every case in ``ops``."""
    ops: list[Op] = []
    locks: list[Any] = []
    ready: list[Op] = []
    trylock = True
    index = -1
    try:
        for case in cases:
            index += 1
            if case is default:
                continue
            # A case is recognised by its bound method's channel and name, not by the
            # method's identity: the compiled build's methods are builtin methods,
            # which have no __func__ to compare.
            if type(case) is tuple:
                if len(case) != 2:
                    raise _case_error(index, case)
                method, value = case
                try:
                    owner = method.__self__
                    name = method.__name__
                except AttributeError:
                    raise _case_error(index, case) from None
                if name != "send" or not isinstance(owner, Chan):
                    raise _case_error(index, case)
                kind = _SEND
            else:
                try:
                    owner = case.__self__
                    name = case.__name__
                except AttributeError:
                    raise _case_error(index, case) from None
                if name == "recv":
                    kind = _RECV
                elif name == "recv_ok":
                    kind = _RECV_OK
                else:
                    raise _case_error(index, case)
                if not isinstance(owner, Chan):
                    raise _case_error(index, case)
                value = None
            # Typed, so that the compiled build reads the channel's fields directly.
            chan: Chan[Any] = owner
            if type(chan) is _NilChan:
                continue  # never ready
            if record:
                ops.append((index, chan, kind, value))
            if trylock:
                lock = chan._lock
                if lock.acquire(False):
                    locks.append(lock)
                    if _looks_ready(chan, kind):
                        ready.append((index, chan, kind, value))
                elif record:
                    trylock = False
                else:
                    # The global order needs every case: start over, recording them.
                    for lock in locks:
                        lock.release()
                    locks = []
                    return _poll(cases, default_index, True)
        if not trylock:
            for lock in locks:
                lock.release()
            locks = []
            for chan in sorted({op[1] for op in ops}, key=_by_seq):
                chan._lock.acquire()
                locks.append(chan._lock)
            ready = [op for op in ops if _looks_ready(op[1], op[2])]
        # Pass 2: try the cases that looked ready in a uniformly random order (a
        # queue holding only stale entries is not ready after all).
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
                    return _released((index, None), locks), ops, []
            else:
                received = chan._recv_locked()
                if received is not NOTHING:
                    result = (received, True) if kind == _RECV_OK else received
                    return _released((index, result), locks), ops, []
                if chan._closed:
                    result = (None, False) if kind == _RECV_OK else None
                    return _released((index, result), locks), ops, []
        if default_index >= 0:
            return _released((default_index, None), locks), ops, []
    except BaseException:
        for lock in locks:
            lock.release()
        raise
    return None, ops, locks


def _looks_ready(chan: Chan[Any], kind: int) -> bool:
    """Requires: chan._lock held."""
    if kind == _SEND:
        return bool(chan._closed or chan._recvq or len(chan._buf) < chan._cap)
    return bool(chan._buf or chan._sendq or chan._closed)


def _released(result: tuple[int, Any], locks: list[Any]) -> tuple[int, Any]:
    for lock in locks:
        lock.release()
    return result


def enqueue(waiter: Waiter, ops: list[Op]) -> None:
    """Pass 3, first half: one entry per case, all sharing ``waiter``. Requires the locks
    :func:`poll` left held."""
    for index, chan, kind, value in ops:
        queue = chan._sendq if kind == _SEND else chan._recvq
        queue.append(Entry(waiter, index, value, chan._lock, queue))


def finish(waiter: Waiter, ops: list[Op]) -> tuple[int, Any]:
    """Pass 3, second half, once the waiter was completed: drop the losing entries
    and return ``(index, received)``.

    Raises:
        ClosedChannelError: the case that ran was a send woken by ``close``.
    """
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


def _blocked_op(cases: tuple[Any, ...]) -> str:
    """Go's state text for a select that can never proceed."""
    return "select" if any(case is not default for case in cases) else "select (no cases)"


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
