"""Go's concurrency model on Python threads: channels, select, goroutines and friends."""

from ._chan import Chan, nilchan
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
from ._sync import Once, WaitGroup

__all__ = [
    "Canceled",
    "Chan",
    "ClosedChannelError",
    "DeadlineExceeded",
    "Deadlock",
    "GochanError",
    "Goroutine",
    "Once",
    "Panic",
    "WaitGroup",
    "WouldBlock",
    "default",
    "go",
    "goroutines",
    "nilchan",
    "select",
    "set_panic_handler",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        try:
            _obj.__module__ = "gochan"
        except (AttributeError, TypeError):
            pass
del _name, _obj
