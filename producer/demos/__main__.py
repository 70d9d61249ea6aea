"""``python -m producer.demos``: list the demos; ``python -m producer.demos NAME``: run one."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import PRODUCER


def main(argv: Sequence[str] | None = None) -> int:
    """List the producer demos, or run the one named and print why it did what it did."""
    return PRODUCER.main(argv)


if __name__ == "__main__":
    sys.exit(main())
