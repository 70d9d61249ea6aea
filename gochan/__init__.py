"""Go's concurrency model on Python threads: channels, select, goroutines and friends.

Go's names and ours (durations are seconds, as in ``time.sleep``; a Go panic is an
exception carrying Go's own text)::

    Go                                  gochan
    ----------------------------------  --------------------------------------------
    make(chan T), make(chan T, n)       Chan(), Chan(n)                     (_chan)
    ch <- v; v := <-ch; v, ok := <-ch   ch.send(v); ch.recv(); ch.recv_ok()
    close(ch); len(ch); cap(ch)         ch.close(); len(ch); ch.cap
    for v := range ch                   for v in ch: / async for v in ch:
    var ch chan T (nil channel)         nilchan
    select { case ...: default: }       select(ch.recv, (ch.send, v), default) (_select)
    (the same, from an asyncio task)    await ch.send_async(v), select_async(...) (_aio)
    go f(x)                             go(f, x) -> Goroutine; set_panic_handler (_goroutine)
    sync.WaitGroup, sync.Once           WaitGroup, Once                     (_sync)
    time.After/Tick/NewTimer/AfterFunc  after, tick, Ticker, Timer, after_func (_timer)
    context.Background/TODO/With...     background, todo, with_cancel/_deadline/
                                        _timeout/_value, Context, Canceled,
                                        DeadlineExceeded                    (_context)
    semaphore.Weighted; errgroup.Group  Weighted (_semaphore); Group (_errgroup)
    "all goroutines are asleep"         Deadlock, set_deadlock_detection    (_deadlock)
    SIGQUIT goroutine dump              dump, install_dump_handler, goroutines (_dump)
    (not in Go) stalls, wait-for graph  set_stall_warning, set_stall_hint, wait_graph,
                                        WaitGraph, idle_waits, gochan.trace
    (not in Go) non-blocking forms      ch.try_send, ch.try_recv -> WouldBlock

``build_info()`` says whether the compiled (mypyc) or the pure-Python build runs;
``gochan.pytest_plugin`` fails tests that leak goroutines (Uber's goleak).
"""

# First: picks the compiled or the pure build before any module imports a hot module.
from ._build import build_info

# isort: split
from ._aio import select_async
from ._chan import Chan, nilchan
from ._context import (
    CancelFunc,
    Context,
    background,
    todo,
    with_cancel,
    with_deadline,
    with_timeout,
    with_value,
)
from ._deadlock import idle_waits, set_deadlock_detection, set_stall_hint, set_stall_warning
from ._dump import dump, install_dump_handler, verify_none
from ._errgroup import Group
from ._errors import (
    Canceled,
    ClosedChannelError,
    DeadlineExceeded,
    Deadlock,
    GochanError,
    Panic,
    WouldBlock,
)
from ._goroutine import Goroutine, go, goroutines, set_panic_handler
from ._select import default, select
from ._semaphore import Weighted
from ._sync import Once, WaitGroup
from ._timer import Ticker, Timer, after, after_func, tick
from ._waitgraph import WaitGraph, wait_graph

# isort: split
from . import trace as trace  # last: it hooks into the modules above
from ._public import present_as as _present_as

__all__ = [
    "CancelFunc",
    "Canceled",
    "Chan",
    "ClosedChannelError",
    "Context",
    "DeadlineExceeded",
    "Deadlock",
    "GochanError",
    "Goroutine",
    "Group",
    "Once",
    "Panic",
    "Ticker",
    "Timer",
    "WaitGraph",
    "WaitGroup",
    "Weighted",
    "WouldBlock",
    "after",
    "after_func",
    "background",
    "build_info",
    "default",
    "dump",
    "go",
    "goroutines",
    "idle_waits",
    "install_dump_handler",
    "nilchan",
    "select",
    "select_async",
    "set_deadlock_detection",
    "set_panic_handler",
    "set_stall_hint",
    "set_stall_warning",
    "tick",
    "todo",
    "verify_none",
    "wait_graph",
    "with_cancel",
    "with_deadline",
    "with_timeout",
    "with_value",
]

_present_as("gochan", globals(), __all__)
