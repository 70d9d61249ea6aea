"""Teaching demos: ``python -m gochan.demos`` lists them, ``python -m gochan.demos NAME`` runs one.

Each demo is a short program in its own module (``NAME`` with ``-`` for ``_``): the code
is the lesson, the module docstring is its explanation, and ``run()`` runs it, prints
what happened and returns the exit code (0 when the demo showed what it set out to).
"""

from ._catalog import DEMOS, load, summary

__all__ = ["DEMOS", "load", "summary"]
