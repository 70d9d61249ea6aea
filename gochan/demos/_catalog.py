"""The demos, in teaching order, and how to find each one's module and summary."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

__all__ = ["DEMOS", "load", "summary"]

DEMOS = (
    "unbuffered-deadlock",
    "successes-not-read",
    "async-close-without-drain",
    "goroutine-leak",
    "heartbeat",
    "confinement",
    "bounded-fanout",
)


def _module_name(name: str) -> str:
    if name not in DEMOS:
        raise KeyError(f"no demo named {name!r}; the demos are: {', '.join(DEMOS)}")
    return f"{__package__}.{name.replace('-', '_')}"


def load(name: str) -> ModuleType:
    """The module of demo ``name`` (``KeyError`` if there is none)."""
    return importlib.import_module(_module_name(name))


def summary(name: str) -> str:
    """The first line of the demo's docstring, read without importing the module.

    (The producer demos import kafka-python, which takes a while; listing should not.)
    """
    spec = importlib.util.find_spec(_module_name(name))
    assert spec is not None and spec.origin is not None
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))
    return doc.strip().splitlines()[0] if doc else ""
