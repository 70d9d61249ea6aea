"""A catalog of demos (the modules of one package, in teaching order) and its command line."""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["DEMOS", "GOCHAN", "Catalog", "load", "summary"]


@dataclass(frozen=True)
class Catalog:
    """The demos of ``package``: ``names`` (``-`` for ``_`` in the module names), in order.

    ``python -m PACKAGE`` is :meth:`main`; ``see_also`` is printed under the list.
    """

    package: str
    names: tuple[str, ...]
    description: str
    see_also: str = ""

    def _module_name(self, name: str) -> str:
        if name not in self.names:
            raise KeyError(f"no demo named {name!r}; the demos are: {', '.join(self.names)}")
        return f"{self.package}.{name.replace('-', '_')}"

    def load(self, name: str) -> ModuleType:
        """The module of demo ``name`` (``KeyError`` if there is none)."""
        return importlib.import_module(self._module_name(name))

    def summary(self, name: str) -> str:
        """The first line of the demo's docstring, read without importing the module.

        (The producer demos import kafka-python, which takes a while; listing should not.)
        """
        spec = importlib.util.find_spec(self._module_name(name))
        assert spec is not None and spec.origin is not None
        doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))
        return doc.strip().splitlines()[0] if doc else ""

    def main(self, argv: Sequence[str] | None = None) -> int:
        """List the demos, or run the one named and print why it did what it did."""
        from ._lesson import observing

        prog = f"python -m {self.package}"
        parser = argparse.ArgumentParser(prog=prog, description=self.description)
        parser.add_argument("name", nargs="?", choices=self.names, metavar="NAME",
                            help="the demo to run (without it: list them)")
        parser.add_argument("--trace", metavar="FILE.html",
                            help="record a gochan trace of the demo: .html (a timeline to open "
                                 "in a browser) or .json (for Perfetto or chrome://tracing)")
        parser.add_argument("--graph", metavar="FILE.svg",
                            help="draw the wait-for graph (.svg or .dot) when the demo stalls "
                                 "or deadlocks: who waits on which channel, who could unblock "
                                 "it")
        args = parser.parse_args(argv)
        for option, path, formats in (("--trace", args.trace, (".html", ".json")),
                                      ("--graph", args.graph, (".svg", ".dot", ".gv"))):
            if path is not None and not path.lower().endswith(formats):
                parser.error(f"{option} {path}: the file must end in {' or '.join(formats)}")
        if args.name is None:
            if args.trace or args.graph:
                parser.error("--trace and --graph need a demo NAME")
            width = max(map(len, self.names))
            print(f"{prog} NAME runs one of:")
            for name in self.names:
                print(f"  {name:<{width}}  {self.summary(name)}")
            if self.see_also:
                print(self.see_also)
            return 0
        module = self.load(args.name)
        print(f"== {args.name}: {self.summary(args.name)}", flush=True)
        with observing(args.trace, args.graph, getattr(module, "GRAPH_AFTER", 1.0)):
            code: int = module.run()
        doc = inspect.getdoc(module) or ""
        why = doc.partition("\n")[2].strip()
        print("\nWhy:\n" + textwrap.indent(why, "  "))
        print(f"\n(the program: {module.__file__})")
        return code


GOCHAN = Catalog(
    __package__ or "gochan.demos",
    ("unbuffered-deadlock", "goroutine-leak", "heartbeat", "confinement", "bounded-fanout"),
    "Short programs that each teach one thing about channels and goroutines.",
    "(the producer's lessons: python -m producer.demos)")

DEMOS = GOCHAN.names
load = GOCHAN.load
summary = GOCHAN.summary
