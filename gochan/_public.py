"""Re-exported objects present themselves under their package's name (``gochan.Chan``).

Used by the package ``__init__`` files of ``gochan``, ``producer`` and
``producer.mocks``, so that ``repr``, ``help`` and pickling name the public
module rather than the private one that defines the object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["present_as"]


def present_as(module: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__`` to ``module`` on each callable ``namespace[name]``.

    Callable covers classes and functions in both builds (the compiled build's
    functions are builtins or mypyc's own type). Objects whose ``__module__`` is
    read-only (type aliases such as ``Callable[[], None]``) are left as they are.
    """
    for name in names:
        obj = namespace[name]
        if callable(obj):
            try:
                obj.__module__ = module
            except (AttributeError, TypeError):
                pass
