"""The HTML timeline: our own viewer with the trace's events inside one self-contained file.

``timeline.html`` (next to this module) is the page: styles and script inline, no
network access. The Chrome trace-event document is embedded as JSON in a
``<script type="application/json">`` element; the script draws one lane per goroutine
(grouped by process), the blocked intervals coloured by operation (hover for the
channels, their creation sites and the user's line) and arrows from sender to receiver
on each hand-off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["render_html", "write_html"]

_TEMPLATE = Path(__file__).with_name("timeline.html")
_PLACEHOLDER = "__TRACE_JSON__"


def render_html(doc: dict[str, Any]) -> str:
    """The page for trace-event document ``doc``."""
    data = json.dumps(doc, separators=(",", ":"))
    # Nothing in the data may end the script element or open a comment in it: "<"
    # only occurs inside JSON strings, where \u003c is the same character.
    data = data.replace("<", "\\u003c")
    return _TEMPLATE.read_text(encoding="utf-8").replace(_PLACEHOLDER, data, 1)


def write_html(doc: dict[str, Any], path: Path) -> None:
    """Write the page for ``doc`` to ``path`` (atomically: a reader never sees half)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(doc), encoding="utf-8")
    tmp.replace(path)
