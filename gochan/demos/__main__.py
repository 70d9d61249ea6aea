"""``python -m gochan.demos``: list the demos; ``python -m gochan.demos NAME``: run one."""

from __future__ import annotations

import argparse
import inspect
import sys
import textwrap
from collections.abc import Sequence

from ._catalog import DEMOS, load, summary


def main(argv: Sequence[str] | None = None) -> int:
    """List the demos, or run the one named and print why it did what it did."""
    parser = argparse.ArgumentParser(
        prog="python -m gochan.demos",
        description="Short programs that each teach one thing about gochan and the producer.")
    parser.add_argument("name", nargs="?", choices=DEMOS, metavar="NAME",
                        help="the demo to run (without it: list them)")
    args = parser.parse_args(argv)
    if args.name is None:
        width = max(map(len, DEMOS))
        print("python -m gochan.demos NAME runs one of:")
        for name in DEMOS:
            print(f"  {name:<{width}}  {summary(name)}")
        return 0
    module = load(args.name)
    print(f"== {args.name}: {summary(args.name)}", flush=True)
    code: int = module.run()
    doc = inspect.getdoc(module) or ""
    why = doc.partition("\n")[2].strip()
    print("\nWhy:\n" + textwrap.indent(why, "  "))
    print(f"\n(the program: {module.__file__})")
    return code


if __name__ == "__main__":
    sys.exit(main())
