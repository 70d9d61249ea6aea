"""``gochan.trace``: record what goroutines did and waited on, as Go's ``go tool trace`` does.

``with gochan.trace.record("out.html"): ...`` records a block; ``GOCHAN_TRACE=out.html
python app.py`` records a whole program (written at exit). The extension picks the
format: ``.json`` is Chrome/Perfetto trace-event JSON, ``.html`` a self-contained
timeline (one lane per goroutine, blocked intervals coloured by operation, hand-off
arrows from sender to receiver). See ``_recorder.py`` for what is recorded.
"""

from ._html import render_html
from ._recorder import (
    DEFAULT_MAX_EVENTS,
    FORMATS,
    Recording,
    active,
    record,
    start,
    stop,
)

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "FORMATS",
    "Recording",
    "active",
    "record",
    "render_html",
    "start",
    "stop",
]
