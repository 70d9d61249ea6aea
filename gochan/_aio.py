"""asyncio on gochan channels: tasks park in the same queues as threads.

An asyncio task that must wait queues an :class:`AsyncWaiter` where a thread
would queue a :class:`~gochan._waiter.Waiter`. The two kinds differ only in how
they are woken: a thread waiter releases a lock, an async waiter resolves an
``asyncio.Future`` on the task's own loop (directly when the waker runs on that
loop's thread, through ``loop.call_soon_threadsafe`` otherwise). Everything else
(the claim, direct hand-off, ``close``, select's three passes) is the thread code
path, so a thread and a task rendezvous on one unbuffered channel and one select
may mix channels that threads use. The loop lives in the waiter, never in the
channel: tasks of several loops in several threads can share a channel.

Operations that can complete at once do so without suspending (like
``asyncio.Queue.get`` with items queued). Channel locks are held for O(1) work
only, so taking them on the loop thread does not stall the loop.

Cancellation races the completion through the waiter's claim, like a timeout
on the thread path:

- A task whose cancellation has been requested takes no new hand-off:
  :meth:`AsyncWaiter.claim` fails once its future is cancelled, so senders,
  receivers and ``close`` skip it and serve the next party.
- When the cancelled task wins its own claim, it unlinks its entries and raises
  ``CancelledError``: nothing was transferred (a cancelled sender's value was
  never delivered; a cancelled select ran no case).
- When it loses, the operation was completed before the cancellation arrived
  (trio's "cancellation arrived too late"): it returns the result (or raises
  the close error) normally, so a received value is never lost. The
  cancellation is not dropped either: if nobody has withdrawn it by the time the
  task next suspends, it is delivered there (see :func:`_cancelled_too_late`).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Final, NoReturn, TypeVar

from gochan._errors import ClosedChannelError

from ._chan import NOTHING, SEND_ON_CLOSED, Chan
from ._select import _blocked_op, _describe, enqueue, finish, poll
from ._waiter import Entry, Waiter, new_lock, unlink

__all__ = [
    "AsyncWaiter",
    "ChanAsyncIterator",
    "block_forever",
    "parked_tasks",
    "recv",
    "recv_ok",
    "select_async",
    "send",
]

T = TypeVar("T")

_get_ident: Final = threading.get_ident
_get_running_loop: Final = asyncio.get_running_loop
_current_task: Final = asyncio.current_task
_CancelledError: Final = asyncio.CancelledError
_monotonic: Final = time.monotonic


class AsyncWaiter(Waiter):
    """One blocked operation of an asyncio task: woken by resolving a future on its loop.

    ``future`` is what the task awaits; ``woken`` turns true when the claimer has
    filled in the result (the future itself may have been cancelled by then).
    While parked, ``op``, ``cases``, ``task`` and ``since`` describe the wait for
    :func:`parked_tasks` (the same vocabulary as the registry of blocked threads).

    Concurrency: the claim is the base class's non-blocking test-and-set; the
    other fields are written by the claimer before :meth:`wake` and read by the
    task after it. :meth:`wake` may run with a channel lock held, so it never
    runs callbacks itself: ``set_result`` only schedules the task's wake-up.
    """

    __slots__ = ("cases", "future", "loop", "op", "since", "task", "thread", "woken")

    # Set by _park, for parked_tasks().
    op: str
    cases: tuple[tuple[str, Any], ...]
    task: asyncio.Task[Any] | None
    since: float

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Not Waiter.__init__: there is no park lock; the future replaces it.
        self._claim = new_lock()
        self.entries: list[Entry] = []
        self.index = -1
        self.value: Any = None
        self.ok = False
        self.error: BaseException | None = None
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.thread = _get_ident()  # the loop's thread: wakes from it need no hand-off
        self.woken = False

    def claim(self) -> bool:
        """Try to complete this operation; always fails once the task is being cancelled."""
        return not self.future.cancelled() and self._claim.acquire(False)

    def withdraw(self) -> bool:
        """The task's own claim, used on cancellation: wins even with the future cancelled."""
        return self._claim.acquire(False)

    def wake(self) -> None:
        """Resolve the task's future, on its loop's thread. Only the claimer calls it, once."""
        self.woken = True
        try:
            if _get_ident() == self.thread:
                future = self.future
                if not future.done():
                    future.set_result(None)  # schedules the task; runs nothing now
            else:
                self.loop.call_soon_threadsafe(self._resolve)
        except RuntimeError:
            # The loop is closed: the task was abandoned with it; nobody will await.
            pass

    def _resolve(self) -> None:
        # Runs on the loop. ``future`` may have been replaced (see _park) or cancelled.
        future = self.future
        if not future.done():
            future.set_result(None)

    def wait(self, timeout: float | None = None) -> bool:
        """Not supported: an async waiter is awaited by its task (see ``_park``)."""
        raise TypeError("an AsyncWaiter is awaited by its task, not waited on by a thread")


# Parked tasks, for diagnostics and tests: waiter -> None (a dict is an ordered set).
# Only the loop threads add and remove their own waiters; readers copy.
_parked: Final[dict[AsyncWaiter, None]] = {}


def parked_tasks() -> list[AsyncWaiter]:
    """Every operation an asyncio task is parked on now, oldest first.

    Each has ``op`` (``chan send``, ``chan receive``, ``select``, ...), ``cases``
    (``(kind, channel)`` pairs), ``task`` and ``since`` (``time.monotonic()``).
    Event-loop threads are not blocked in gochan (they run other tasks), so these
    never count towards a deadlock.
    """
    return sorted(_parked.copy(), key=lambda w: w.since)


async def _park(waiter: AsyncWaiter, op: str, cases: tuple[tuple[str, Any], ...]) -> None:
    """Suspend until ``waiter`` is completed, withdrawing it if cancelled in time.

    Raises ``CancelledError`` only when the task's own claim won (nothing was
    transferred). Otherwise returns once the claimer has filled in the result,
    even if cancelled meanwhile (see :func:`_cancelled_too_late`).
    """
    waiter.op = op
    waiter.cases = cases
    waiter.task = task = _current_task()
    waiter.since = _monotonic()
    _parked[waiter] = None
    try:
        try:
            await waiter.future
            return
        except _CancelledError as exc:
            if waiter.withdraw():
                unlink(waiter)
                raise
            cancelled = exc
        except BaseException:
            # The coroutine is being closed (GeneratorExit: its task was dropped with
            # its loop) or something was thrown in: withdraw, so no later sender
            # hands a value to a task that will never run. Too late if a hand-off
            # already happened: that value went down with the task.
            if waiter.withdraw():
                unlink(waiter)
            raise
        # The claim was lost: a hand-off (or close) is done or in flight on another
        # thread. Wait for its wake(); further cancellations cannot withdraw it now.
        while not waiter.woken:
            waiter.future = waiter.loop.create_future()
            try:
                await waiter.future
            except _CancelledError as exc:
                cancelled = exc
    finally:
        del _parked[waiter]
    _cancelled_too_late(task, cancelled)


def _cancelled_too_late(task: asyncio.Task[Any] | None, exc: BaseException) -> None:
    """The task was cancelled after its operation completed: keep the result, defer the cancel.

    The operation's result is returned normally (never lost). The cancellation
    request is re-delivered at the task's next suspension point, unless by then
    whoever requested it has withdrawn it with ``Task.uncancel()``: that is what
    ``asyncio.timeout()`` (and 3.12+'s ``wait_for``) do when the block they guard
    ends without ``CancelledError``, so an operation that completed just as its
    timeout fired simply succeeds, while a bare ``task.cancel()`` (or a
    ``TaskGroup`` shutting down) still cancels the task, one await later.

    On Python 3.10 tasks do not count cancellation requests; the request is then
    consumed by the completed operation.
    """
    if sys.version_info >= (3, 11) and task is not None:
        task.get_loop().call_soon(_redeliver, task, task.cancelling(), exc.args)


if sys.version_info >= (3, 11):

    def _redeliver(task: asyncio.Task[Any], count: int, args: tuple[Any, ...]) -> None:
        # Runs on the loop once the task has suspended (or finished).
        if task.done() or task.cancelling() < count:
            return  # finished with its result, or the request was withdrawn
        task.uncancel()  # the request is still counted; cancel() will count it again
        task.cancel(args[0] if args else None)


# -- channel operations ---------------------------------------------------------------


async def send(ch: Chan[T], value: T) -> None:
    """``await ch.send_async(v)``: see :meth:`gochan.Chan.send_async`."""
    with ch._lock:
        if ch._closed:
            raise ClosedChannelError(SEND_ON_CLOSED)
        # Inlined copy of Chan._send_locked, as in Chan.send (pure build: ~6% of an
        # awaited send+receive). Keep in step with it.
        if ch._recvq and ch._give_locked(value):
            return
        buf = ch._buf
        if len(buf) < ch._cap:
            buf.append(value)
            return
        waiter = AsyncWaiter(_get_running_loop())
        ch._park_locked(ch._sendq, waiter, value)
    await _park(waiter, "chan send", (("send", ch),))
    if not waiter.ok:
        raise ClosedChannelError(SEND_ON_CLOSED)


async def recv(ch: Chan[T]) -> T | None:
    """``await ch.recv_async()``: see :meth:`gochan.Chan.recv_async`."""
    with ch._lock:
        # Inlined copy of Chan._recv_locked's first case, as in Chan.recv.
        buf = ch._buf
        if buf and not ch._sendq:
            return buf.popleft()
        value = ch._recv_locked()
        if value is not NOTHING:
            return value  # type: ignore[no-any-return]
        if ch._closed:
            return None
        waiter = AsyncWaiter(_get_running_loop())
        ch._park_locked(ch._recvq, waiter, None)
    await _park(waiter, "chan receive", (("recv", ch),))
    return waiter.value  # type: ignore[no-any-return]


async def recv_ok(ch: Chan[T]) -> tuple[T | None, bool]:
    """``await ch.recv_ok_async()``: see :meth:`gochan.Chan.recv_ok_async`."""
    with ch._lock:
        value = ch._recv_locked()
        if value is not NOTHING:
            return value, True
        if ch._closed:
            return None, False
        waiter = AsyncWaiter(_get_running_loop())
        ch._park_locked(ch._recvq, waiter, None)
    await _park(waiter, "chan receive", (("recv", ch),))
    return waiter.value, waiter.ok


async def block_forever(op: str, cases: tuple[tuple[str, Any], ...] = ()) -> NoReturn:
    """Suspend until cancelled: a nil channel's operation, or an empty select."""
    waiter = AsyncWaiter(_get_running_loop())
    await _park(waiter, op, cases)
    raise AssertionError("unreachable: nothing completes a nil-channel wait")


class ChanAsyncIterator(AsyncIterator[T]):
    """``async for v in ch``: receives until the channel is closed and drained."""

    __slots__ = ("_chan",)

    def __init__(self, chan: Chan[T]) -> None:
        self._chan = chan

    def __aiter__(self) -> ChanAsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        value, ok = await self._chan.recv_ok_async()
        if not ok:
            raise StopAsyncIteration
        return value  # type: ignore[return-value]


# -- select -------------------------------------------------------------------------


async def select_async(*cases: Any) -> tuple[int, Any]:
    """Run exactly one of ``cases`` from an asyncio task, Go's ``select`` statement.

    The cases are the same as for :func:`gochan.select` (the *synchronous* bound
    methods): ``ch.recv``, ``ch.recv_ok``, ``(ch.send, value)`` or
    :data:`gochan.default`. Returns ``(index, received)`` exactly as ``select``
    does. A case that can proceed runs at once, without suspending; otherwise the
    task suspends (never blocking its event loop) until one can. With ``default``
    it never suspends. Cases on ``nilchan`` are never ready; with no other case and
    no default it waits until cancelled. There is no ``timeout``: use
    ``asyncio.timeout()`` or a :func:`gochan.after` channel as a case.

    Raises:
        ClosedChannelError: the chosen case sends on a closed channel.
        TypeError: a case is not one of the forms above.
        asyncio.CancelledError: the task was cancelled before any case ran (then
            none ran, and a send case delivered nothing).

    Concurrency: as for ``select``, every channel involved is locked (in creation
    order) while the cases are polled; the waiting task's entries share one claim
    with its cancellation, so exactly one case runs or none does. If the
    cancellation arrives after a case ran, that case's result is returned and
    the cancellation is delivered at the task's next suspension point unless it
    was withdrawn (``asyncio.timeout`` expiring just too late).
    """
    result, ops, locks = poll(cases)
    if result is not None:
        return result
    if not ops:
        await block_forever(_blocked_op(cases), _describe(cases))
    try:
        waiter = AsyncWaiter(_get_running_loop())
        enqueue(waiter, ops)
    finally:
        for lock in locks:
            lock.release()
    await _park(waiter, "select", _describe(cases))
    return finish(waiter, ops)
