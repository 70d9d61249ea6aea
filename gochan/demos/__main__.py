"""``python -m gochan.demos``: list the demos; ``python -m gochan.demos NAME``: run one."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._catalog import GOCHAN


def main(argv: Sequence[str] | None = None) -> int:
    """List the channel demos, or run the one named and print why it did what it did."""
    return GOCHAN.main(argv)


if __name__ == "__main__":
    sys.exit(main())
