"""The public surface of ``gochan``: one sorted ``__all__``, each name exported once,
re-exported objects presenting themselves as ``gochan.X`` (as httpx and trio check)."""

from __future__ import annotations

import inspect
import types

import pytest

import gochan

# Names fixed by spec/gochan-api.md.
SPEC_NAMES = {
    "Chan", "nilchan", "select", "default",
    "go", "set_panic_handler", "WaitGroup", "Once",
    "after", "tick", "Ticker", "Timer", "after_func",
    "background", "with_cancel", "with_timeout", "with_deadline", "with_value", "Context",
    "Canceled", "DeadlineExceeded", "Weighted", "Group", "Deadlock",
}  # fmt: skip

EXPORTED = [(name, getattr(gochan, name)) for name in gochan.__all__]
CLASSES_AND_FUNCTIONS = [
    (name, obj) for name, obj in EXPORTED if inspect.isclass(obj) or inspect.isfunction(obj)
]
PER_OBJECT = pytest.mark.parametrize(
    ("name", "obj"), CLASSES_AND_FUNCTIONS, ids=[name for name, _ in CLASSES_AND_FUNCTIONS]
)


def test_all_is_sorted() -> None:
    assert gochan.__all__ == sorted(gochan.__all__)


def test_each_name_exported_once() -> None:
    assert len(gochan.__all__) == len(set(gochan.__all__))


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, obj in vars(gochan).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
    }
    assert public == set(gochan.__all__)


def test_spec_names_are_exported() -> None:
    assert set(gochan.__all__) >= SPEC_NAMES


@PER_OBJECT
def test_exported_object_belongs_to_gochan(name: str, obj: object) -> None:
    assert obj.__module__ == "gochan", f"gochan.{name}.__module__ is {obj.__module__!r}"
    assert obj.__name__ == name


@PER_OBJECT
def test_exported_object_has_docstring(name: str, obj: object) -> None:
    assert inspect.getdoc(obj), f"gochan.{name} has no docstring"
