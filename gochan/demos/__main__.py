"""``python -m gochan.demos``: list the demos; ``python -m gochan.demos NAME``: run one."""

from __future__ import annotations

import argparse
import inspect
import sys
import textwrap
from collections.abc import Sequence

from ._catalog import DEMOS, load, summary
from ._lesson import observing


def main(argv: Sequence[str] | None = None) -> int:
    """List the demos, or run the one named and print why it did what it did."""
    parser = argparse.ArgumentParser(
        prog="python -m gochan.demos",
        description="Short programs that each teach one thing about gochan and the producer.")
    parser.add_argument("name", nargs="?", choices=DEMOS, metavar="NAME",
                        help="the demo to run (without it: list them)")
    parser.add_argument("--trace", metavar="FILE.html",
                        help="record a gochan trace of the demo: .html (a timeline to open "
                             "in a browser) or .json (for Perfetto or chrome://tracing)")
    parser.add_argument("--graph", metavar="FILE.svg",
                        help="draw the wait-for graph (.svg or .dot) when the demo stalls or "
                             "deadlocks: who waits on which channel, who could unblock it")
    args = parser.parse_args(argv)
    for option, path, formats in (("--trace", args.trace, (".html", ".json")),
                                  ("--graph", args.graph, (".svg", ".dot", ".gv"))):
        if path is not None and not path.lower().endswith(formats):
            parser.error(f"{option} {path}: the file must end in {' or '.join(formats)}")
    if args.name is None:
        if args.trace or args.graph:
            parser.error("--trace and --graph need a demo NAME")
        width = max(map(len, DEMOS))
        print("python -m gochan.demos NAME runs one of:")
        for name in DEMOS:
            print(f"  {name:<{width}}  {summary(name)}")
        return 0
    module = load(args.name)
    print(f"== {args.name}: {summary(args.name)}", flush=True)
    with observing(args.trace, args.graph, getattr(module, "GRAPH_AFTER", 1.0)):
        code: int = module.run()
    doc = inspect.getdoc(module) or ""
    why = doc.partition("\n")[2].strip()
    print("\nWhy:\n" + textwrap.indent(why, "  "))
    print(f"\n(the program: {module.__file__})")
    return code


if __name__ == "__main__":
    sys.exit(main())
