"""Channels: Go's ``chan T``, built the way Go's runtime builds it.

One lock per channel guards a FIFO buffer (a ``deque`` used as a ring of ``cap``
slots), a queue of parked receivers and a queue of parked senders. A send to a
channel with a parked receiver hands the value straight to that receiver; a
receive from a full channel with a parked sender takes the head of the buffer
and moves the sender's value to its tail. Only operations that must wait
allocate anything or touch the registry of blocked operations.

Invariants (with the lock held, ignoring stale entries of claimed waiters):
``recvq`` non-empty implies the buffer is empty; ``sendq`` non-empty implies the
buffer is full; the two queues never hold live entries of two different waiters
(one select may park on both queues of one unbuffered channel, as in Go); a
closed channel has empty queues. :meth:`Chan._check_invariants` checks them.
"""

from __future__ import annotations

import itertools
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from types import FrameType
from typing import Any, Final, Generic, NoReturn, TypeVar

from gochan._errors import ClosedChannelError, Panic, WouldBlock

from ._registry import block
from ._waiter import Entry, Waiter, new_lock

__all__ = ["Chan", "nilchan"]

T = TypeVar("T")

SEND_ON_CLOSED: Final = "send on closed channel"
CLOSE_OF_CLOSED: Final = "close of closed channel"
CLOSE_OF_NIL: Final = "close of nil channel"

# Returned by the *_locked helpers when the operation would block.
NOTHING: Final[Any] = object()

# Lock order for select: channels are locked in increasing creation number.
_next_seq: Final = itertools.count(1).__next__


def _made_at() -> str:
    """``file:line`` of the code making a channel: the innermost frame outside this module.

    Not ``sys._getframe(1)``: the compiled build (``gochan._native``) has no frames
    of its own, so depths differ between the builds, while this names the same line.
    """
    frame: FrameType | None = sys._getframe(0)
    while frame is not None and frame.f_code.co_filename == _THIS_FILE:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


_THIS_FILE: Final = __file__


class Chan(Generic[T]):
    """A Go channel. ``Chan()`` is unbuffered (rendezvous), ``Chan(n)`` buffers ``n`` values.

    Concurrency: every operation is atomic under the channel's lock; parked senders
    and receivers are served FIFO. ``len()`` is a snapshot ("not reliable" the moment
    it returns, as for ``queue.Queue.qsize``).
    """

    __slots__ = ("__weakref__", "_buf", "_cap", "_closed", "_lock", "_recvq", "_sendq", "_seq",
                 "_site", "_stall_hint")

    def __init__(self, cap: int = 0) -> None:
        if type(cap) is not int:
            raise TypeError(f"channel capacity must be an int, not {type(cap).__name__}")
        if cap < 0:
            raise ValueError(f"makechan: size out of range ({cap})")
        # _lock guards every field below and the entries queued on this channel.
        self._lock = new_lock()
        self._buf: deque[T] = deque()
        self._cap = cap
        self._closed = False
        # Said by the stall watchdog when a send here stalls (gochan.set_stall_hint).
        self._stall_hint: str | Callable[[], str | None] | None = None
        self._recvq: deque[Entry] = deque()  # parked receivers, FIFO
        self._sendq: deque[Entry] = deque()  # parked senders (with their values), FIFO
        self._seq = _next_seq()
        self._site = _made_at()

    # -- inspection -------------------------------------------------------------------

    @property
    def cap(self) -> int:
        """The capacity, Go's ``cap(ch)``."""
        return self._cap

    @property
    def closed(self) -> bool:
        """Whether ``close`` has been called (values may still be buffered)."""
        return self._closed

    def __len__(self) -> int:
        """Values buffered now, Go's ``len(ch)`` (a snapshot)."""
        return len(self._buf)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Chan cap={self._cap} len={len(self._buf)} {state} made at {self._site}>"

    def _check_invariants(self) -> None:
        """Raise ``AssertionError`` naming the first broken invariant (module docstring).

        For tests: the hypothesis state machine calls it after every step, the stress
        tests at quiescent points. Takes the lock; O(len(queues)).
        """
        with self._lock:
            n, cap = len(self._buf), self._cap
            where = f"{self!r}"
            if n > cap:
                raise AssertionError(f"{where}: {n} values buffered, over the capacity {cap}")
            live: list[list[Waiter]] = []
            for name, queue in (("recvq", self._recvq), ("sendq", self._sendq)):
                waiters: list[Waiter] = []
                for entry in queue:
                    if entry.queue is not queue or entry.lock is not self._lock:
                        raise AssertionError(f"{where}: an entry in {name} names another queue")
                    waiter = entry.waiter
                    if not waiter.claimed:
                        if entry not in waiter.entries:
                            raise AssertionError(
                                f"{where}: a live entry in {name} is not in its waiter's entries"
                            )
                        waiters.append(waiter)
                live.append(waiters)
            receivers, senders = live
            if self._closed and (self._recvq or self._sendq):
                raise AssertionError(
                    f"{where}: closed with {len(self._recvq)} receivers and "
                    f"{len(self._sendq)} senders still queued"
                )
            if receivers and n:
                raise AssertionError(
                    f"{where}: {len(receivers)} receivers parked with {n} values buffered"
                )
            if senders and n < cap:
                raise AssertionError(
                    f"{where}: {len(senders)} senders parked while the buffer has room"
                )
            # Both non-empty and more than one waiter in all: some receiver and some
            # other sender could have met. One select parked on both queues is fine.
            if receivers and senders and len({id(w) for w in receivers + senders}) > 1:
                raise AssertionError(
                    f"{where}: a receiver and a different sender both parked (they should have met)"
                )

    # -- the locked steps (Requires: self._lock held) ---------------------------------
    # Each send and receive rule is written once, here: the blocking methods below, the
    # asyncio ones (_aio), select's poll and the timers all take these steps. The only
    # other copies are inlined fast paths, each marked with the step it copies.

    def _give_locked(self, value: T) -> bool:
        """Hand ``value`` to the first live parked receiver, if there is one."""
        recvq = self._recvq
        while recvq:
            entry = recvq.popleft()
            waiter = entry.waiter
            if waiter.claim():
                waiter.index = entry.index
                waiter.value = value
                waiter.ok = True
                waiter.wake()
                return True
        return False

    def _send_locked(self, value: T) -> bool:
        """Send without blocking; ``False`` if it would block. The caller checked ``closed``."""
        if self._recvq and self._give_locked(value):
            return True
        if len(self._buf) < self._cap:
            self._buf.append(value)
            return True
        return False

    def _recv_locked(self) -> Any:
        """Receive without blocking; ``NOTHING`` if it would block (closed is the caller's)."""
        buf = self._buf
        sendq = self._sendq
        if buf:
            value = buf.popleft()
            # The buffer was full: move the first parked sender's value to its tail.
            while sendq:
                entry = sendq.popleft()
                waiter = entry.waiter
                if waiter.claim():
                    buf.append(entry.value)
                    waiter.index = entry.index
                    waiter.ok = True
                    waiter.wake()
                    break
            return value
        while sendq:
            entry = sendq.popleft()
            waiter = entry.waiter
            if waiter.claim():
                waiter.index = entry.index
                waiter.ok = True
                waiter.wake()
                return entry.value
        return NOTHING

    def _park_locked(self, queue: deque[Entry], waiter: Waiter, value: Any) -> None:
        """Queue ``waiter`` as a parked sender of ``value`` (``queue`` is ``_sendq``) or a
        parked receiver (``_recvq``), after the step above said the operation would block."""
        queue.append(Entry(waiter, 0, value, self._lock, queue))

    # -- send -------------------------------------------------------------------------

    def send(self, value: T, timeout: float | None = None) -> None:
        """Send ``value``, Go's ``ch <- v``.

        Blocks until a receiver takes the value (unbuffered) or there is room in the
        buffer. ``timeout`` (seconds) bounds the wait; on expiry nothing was sent.

        Raises:
            ClosedChannelError: ``send on closed channel``, also when the channel is
                closed while the send waits.
            TimeoutError: ``timeout`` ran out first.
        """
        with self._lock:
            if self._closed:
                raise ClosedChannelError(SEND_ON_CLOSED)
            # Inlined copy of _send_locked: the call costs ~5% of a buffered send in the
            # pure build (issue 15's micro-benchmark). Keep in step with it.
            if self._recvq and self._give_locked(value):
                return
            if len(self._buf) < self._cap:
                self._buf.append(value)
                return
            if timeout is not None and timeout <= 0:
                raise TimeoutError("send timed out")
            waiter = Waiter()
            self._park_locked(self._sendq, waiter, value)
        if not block(waiter, "chan send", (("send", self),), sys._getframe(0), timeout):
            raise TimeoutError("send timed out")
        waiter.entries.clear()  # the claimer popped the entry: break the cycle for refcounting
        if not waiter.ok:
            raise ClosedChannelError(SEND_ON_CLOSED)

    def try_send(self, value: T) -> None:
        """Send only if that needs no waiting, Go's ``select { case ch <- v: default: }``.

        Raises:
            WouldBlock: no receiver is waiting and the buffer is full.
            ClosedChannelError: ``send on closed channel``.
        """
        with self._lock:
            if self._closed:
                raise ClosedChannelError(SEND_ON_CLOSED)
            if self._send_locked(value):
                return
        raise WouldBlock("send would block")

    def _try_send_many(self, values: Sequence[T], start: int, limit: int | None = None) -> int:
        """Internal (the producer's burst delivery): ``try_send`` of ``values[start:]``
        (at most ``limit`` of them) in order under one lock acquisition, stopping at the
        first that would block. Returns how many were sent. Not part of Go's channel API.

        Raises:
            ClosedChannelError: ``send on closed channel``.
        """
        with self._lock:
            if self._closed:
                raise ClosedChannelError(SEND_ON_CLOSED)
            # A batched copy of _send_locked (hand-offs first, then the buffer), so a
            # burst fills the buffer with one extend: keep the two in step.
            i, n = start, len(values)
            if limit is not None:
                n = min(n, start + limit)
            while i < n and self._recvq and self._give_locked(values[i]):
                i += 1
            room = self._cap - len(self._buf)
            if room > 0 and i < n:
                end = min(n, i + room)
                self._buf.extend(values[i:end])
                i = end
            return i - start

    # -- receive ----------------------------------------------------------------------

    def recv(self, timeout: float | None = None) -> T | None:
        """Receive a value, Go's ``v := <-ch``.

        Blocks until a value is available. A closed channel is not an error: once
        its buffer is drained, ``recv`` returns ``None`` (Go's zero value) at once;
        use :meth:`recv_ok` to tell that apart from a ``None`` that was sent.

        Raises:
            TimeoutError: ``timeout`` (seconds) ran out first; nothing was received.
        """
        with self._lock:
            # Inlined copy of _recv_locked's first case (values buffered, no parked
            # sender): ~13% of a buffered send+recv in the pure build, ~2% compiled.
            buf = self._buf
            if buf and not self._sendq:
                return buf.popleft()
            value = self._recv_locked()
            if value is not NOTHING:
                return value  # type: ignore[no-any-return]
            if self._closed:
                return None
            if timeout is not None and timeout <= 0:
                raise TimeoutError("receive timed out")
            waiter = Waiter()
            self._park_locked(self._recvq, waiter, None)
        if not block(waiter, "chan receive", (("recv", self),), sys._getframe(0), timeout):
            raise TimeoutError("receive timed out")
        waiter.entries.clear()
        return waiter.value  # type: ignore[no-any-return]

    def recv_ok(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """Receive with Go's comma-ok form: ``v, ok := <-ch``.

        ``ok`` is ``False`` only when the channel is closed and drained (then ``v`` is
        ``None``). Blocking and ``timeout`` as for :meth:`recv`.
        """
        with self._lock:
            value = self._recv_locked()
            if value is not NOTHING:
                return value, True
            if self._closed:
                return None, False
            if timeout is not None and timeout <= 0:
                raise TimeoutError("receive timed out")
            waiter = Waiter()
            self._park_locked(self._recvq, waiter, None)
        if not block(waiter, "chan receive", (("recv", self),), sys._getframe(0), timeout):
            raise TimeoutError("receive timed out")
        waiter.entries.clear()
        return waiter.value, waiter.ok

    def try_recv(self) -> tuple[T | None, bool]:
        """Receive only if that needs no waiting; returns ``(v, ok)`` like :meth:`recv_ok`.

        Raises:
            WouldBlock: nothing is buffered, no sender waits, and the channel is open.
        """
        with self._lock:
            value = self._recv_locked()
            if value is not NOTHING:
                return value, True
            if self._closed:
                return None, False
        raise WouldBlock("receive would block")

    def __iter__(self) -> Iterator[T]:
        """Go's ``for v := range ch``: yields values until the channel is closed and drained."""
        recv_ok = self.recv_ok
        while True:
            value, ok = recv_ok()
            if not ok:
                return
            yield value  # type: ignore[misc]

    # -- asyncio (the implementations live in _aio) ------------------------------------

    def send_async(self, value: T) -> Coroutine[Any, Any, None]:
        """Send ``value`` from an asyncio task: ``await ch.send_async(v)``.

        Like :meth:`send`, but suspends the task instead of blocking the thread (the
        event loop keeps running); returns without suspending when a receiver is
        parked or the buffer has room. Threads and tasks (of any loop) may share
        the channel. For a time limit use ``asyncio.timeout()``.

        Raises:
            ClosedChannelError: ``send on closed channel``, also when the channel is
                closed while the send waits.
            asyncio.CancelledError: the task was cancelled before a receiver took
                the value; then the value was not delivered.

        Concurrency: a cancellation that arrives after a receiver took the value
        is too late: the send returns normally and the cancellation is delivered
        at the task's next suspension point (unless withdrawn meanwhile, as
        ``asyncio.timeout`` does when its block ends normally).
        """
        return _aio.send(self, value)

    def recv_async(self) -> Coroutine[Any, Any, T | None]:
        """Receive from an asyncio task: ``v = await ch.recv_async()``.

        Like :meth:`recv` (``None`` once the channel is closed and drained; that is
        not an error), but suspends the task instead of blocking the thread.

        Raises:
            asyncio.CancelledError: the task was cancelled before a value arrived;
                then nothing was received.

        Concurrency: a cancellation that arrives after a sender handed over its
        value is too late: the value is returned (never lost) and the
        cancellation is delivered at the task's next suspension point, unless
        withdrawn meanwhile (``asyncio.timeout`` expiring just too late).
        """
        return _aio.recv(self)

    def recv_ok_async(self) -> Coroutine[Any, Any, tuple[T | None, bool]]:
        """Receive ``(v, ok)`` from an asyncio task, like :meth:`recv_ok`.

        Suspension and cancellation as for :meth:`recv_async`.
        """
        return _aio.recv_ok(self)

    def __aiter__(self) -> AsyncIterator[T]:
        """``async for v in ch``: receives until the channel is closed and drained."""
        return _aio.ChanAsyncIterator(self)

    # -- close ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel, Go's ``close(ch)``.

        Buffered values stay receivable. Every parked receiver wakes with
        ``(None, False)``; every parked sender wakes and raises
        ``send on closed channel``. Waiters are woken after the lock is released.

        Raises:
            ClosedChannelError: ``close of closed channel``.
        """
        woken: list[Waiter] = []
        with self._lock:
            if self._closed:
                raise ClosedChannelError(CLOSE_OF_CLOSED)
            self._closed = True
            for queue in (self._recvq, self._sendq):
                for entry in queue:
                    waiter = entry.waiter
                    if waiter.claim():
                        waiter.index = entry.index
                        waiter.value = None
                        waiter.ok = False
                        woken.append(waiter)
                queue.clear()
        for waiter in woken:
            waiter.wake()


class _NilChan(Chan[Any]):
    """Go's nil channel: sends and receives block forever, never ready in ``select``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<nilchan>"

    def _block_forever(self, op: str, timeout: float | None) -> NoReturn:
        waiter = Waiter()
        block(waiter, op, (), sys._getframe(0), timeout)
        # Only a timeout gets here (a deadlock report raises from block()).
        raise TimeoutError(f"{op} timed out")

    def send(self, value: Any, timeout: float | None = None) -> None:
        """Blocks forever (or until ``timeout``), as a send on a nil channel does in Go."""
        self._block_forever("chan send (nil chan)", timeout)

    def recv(self, timeout: float | None = None) -> Any:
        """Blocks forever (or until ``timeout``), as a receive from a nil channel does in Go."""
        self._block_forever("chan receive (nil chan)", timeout)

    def recv_ok(self, timeout: float | None = None) -> tuple[Any, bool]:
        """Blocks forever (or until ``timeout``)."""
        self._block_forever("chan receive (nil chan)", timeout)

    def send_async(self, value: Any) -> Coroutine[Any, Any, NoReturn]:
        """Suspends until the task is cancelled, as a send on a nil channel does in Go."""
        return _aio.block_forever("chan send (nil chan)")

    def recv_async(self) -> Coroutine[Any, Any, NoReturn]:
        """Suspends until the task is cancelled, as a receive from a nil channel does."""
        return _aio.block_forever("chan receive (nil chan)")

    def recv_ok_async(self) -> Coroutine[Any, Any, NoReturn]:
        """Suspends until the task is cancelled."""
        return _aio.block_forever("chan receive (nil chan)")

    def try_send(self, value: Any) -> None:
        """Always raises ``WouldBlock``: a nil channel is never ready."""
        raise WouldBlock("send on nil channel would block")

    def try_recv(self) -> tuple[Any, bool]:
        """Always raises ``WouldBlock``: a nil channel is never ready."""
        raise WouldBlock("receive from nil channel would block")

    def close(self) -> None:
        """Raises ``Panic('close of nil channel')``, as Go does."""
        raise Panic(CLOSE_OF_NIL)


nilchan: Chan[Any] = _NilChan()
"""Go's ``var ch chan T``: blocks forever; disables a ``select`` case."""

# Last: _aio needs Chan (and _select, which imports this module) to exist.
from . import _aio  # noqa: E402
