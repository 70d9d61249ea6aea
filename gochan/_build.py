"""Which build of gochan's hot modules runs: compiled (mypyc) or pure Python.

The hot modules (:data:`HOT`: waiters, the registry of blocked operations,
channels, select, asyncio) exist twice in an install that could compile them:
the pure-Python sources ``gochan/_chan.py`` and so on, and compiled copies
``gochan._native._chan`` and so on (built by ``setup.py``). Importing this module
(``gochan/__init__.py`` does it first) picks one build for the whole process and
registers its modules under the pure modules' names, so ``gochan._chan`` is one
module and ``Chan`` one class whichever build runs.

The compiled build is used unless:

- ``GOCHAN_PURE=1`` is set (any value but empty or ``0``);
- it was not built (no C compiler or no mypyc at install: silent at install);
- it was built from other sources than the ``.py`` files beside it (an editable
  install whose sources were edited since: re-run ``make`` to rebuild); this
  warns, since it would otherwise test code that is not in the sources;
- it fails to load.

:func:`build_info` says which build runs and why.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import warnings
from types import ModuleType

__all__ = ["HOT", "build_info"]

# The compiled modules, in import order. Between themselves they import relatively;
# every other gochan module they import absolutely (``from gochan._errors import ...``),
# so that the compiled copies share those with the pure build.
HOT = ("_waiter", "_registry", "_chan", "_select", "_aio")

_PACKAGE = __name__.rpartition(".")[0]
_NATIVE = f"{_PACKAGE}._native"
_DIR = os.path.dirname(os.path.abspath(__file__))

_info: dict[str, str] = {}


def build_info() -> dict[str, str]:
    """Which build of gochan's channel core this process runs.

    ``{"build": "compiled", "compiled_by": "mypyc <version>, <C compiler>, <Python>"}``,
    or ``{"build": "pure", "reason": ...}`` (``GOCHAN_PURE=1``, not compiled at
    install, compiled from other sources, or failed to load). Both builds behave
    the same; the compiled one is faster.
    """
    return dict(_info)


def _sources_digest() -> str | None:
    """SHA-256 over the pure sources of :data:`HOT` and the compiled build's C lock
    (``_native/_lock.c``), as ``setup.py`` computes it."""
    digest = hashlib.sha256()
    try:
        for name in HOT:
            with open(os.path.join(_DIR, f"{name}.py"), "rb") as f:
                digest.update(f.read())
        with open(os.path.join(_DIR, "_native", "_lock.c"), "rb") as f:
            digest.update(f.read())
    except OSError:
        return None  # sources not shipped: nothing to compare against
    return digest.hexdigest()


def _pure(reason: str) -> None:
    _info.clear()
    _info.update(build="pure", reason=reason)


def _select_build() -> None:
    if os.environ.get("GOCHAN_PURE", "") not in ("", "0"):
        _pure("GOCHAN_PURE=1")
        return
    try:
        about = importlib.import_module(f"{_NATIVE}._about")
    except ImportError:
        _pure("no compiled build installed (no C compiler or no mypyc at install time)")
        return
    digest = _sources_digest()
    if digest is not None and digest != about.SOURCES_SHA256:
        _pure("the compiled build is stale: its sources were edited since it was built")
        warnings.warn(
            "gochan: the compiled build was compiled from other sources than "
            f"{_DIR}/_*.py; running the pure build (rebuild with `make`, or "
            "`pip install -e .` again)",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    package = sys.modules[_PACKAGE]
    loaded: list[str] = []
    try:
        for name in HOT:
            module: ModuleType = importlib.import_module(f"{_NATIVE}.{name}")
            # Registered one by one: a pure module imported meanwhile must see these.
            sys.modules[f"{_PACKAGE}.{name}"] = module
            setattr(package, name, module)
            loaded.append(name)
    except ImportError as exc:
        for name in loaded:
            del sys.modules[f"{_PACKAGE}.{name}"]
            delattr(package, name)
        for key in [key for key in sys.modules if key.startswith(_NATIVE + ".")]:
            del sys.modules[key]
        _pure(f"the compiled build failed to load ({exc})")
        return
    # mypyc keeps no docstrings; a class can take its own back (functions and methods
    # cannot: their docstrings are in the sources and the pure build).
    for qualname, doc in about.CLASS_DOCS.items():
        module_name, _, class_name = qualname.partition(".")
        getattr(sys.modules[f"{_PACKAGE}.{module_name}"], class_name).__doc__ = doc
    _info.clear()
    _info.update(build="compiled", compiled_by=about.BUILT_BY)


_select_build()
