"""Teaching demos: ``python -m gochan.demos`` lists them, ``python -m gochan.demos NAME`` runs one.

Each demo is a short program in its own module (``NAME`` with ``-`` for ``_``): the code
is the lesson, the module docstring is its explanation, and ``run()`` runs it, prints
what happened and returns the exit code (0 when the demo showed what it set out to).
The producer's lessons are in ``producer.demos``, built on the same :class:`Catalog`,
:class:`Progress` and :func:`stall_warnings`.
"""

from ._catalog import DEMOS, GOCHAN, Catalog, load, summary
from ._lesson import Progress, stall_warnings

__all__ = ["DEMOS", "GOCHAN", "Catalog", "Progress", "load", "stall_warnings", "summary"]
