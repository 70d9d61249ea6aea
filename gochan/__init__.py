"""Go's concurrency model on Python threads: channels, select, goroutines and friends."""

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
