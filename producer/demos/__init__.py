"""The producer's teaching demos: ``python -m producer.demos`` lists them,
``python -m producer.demos NAME`` runs one (``--trace FILE.html``, ``--graph FILE.svg``).

Built like ``gochan.demos`` (its :class:`~gochan.demos.Catalog`): each demo is a module
whose docstring is the explanation and whose ``run()`` returns the exit code. The broker
comes from ``producer.testing.local_kafka()`` (``KAFKA_BOOTSTRAP_SERVERS`` if set).
"""

from gochan.demos import Catalog

__all__ = ["DEMOS", "PRODUCER", "load", "summary"]

PRODUCER = Catalog(
    __package__ or "producer.demos",
    ("successes-not-read", "async-close-without-drain"),
    "Short programs that each teach one thing about the producer's channels.",
    "(the channel lessons: python -m gochan.demos)")

DEMOS = PRODUCER.names
load = PRODUCER.load
summary = PRODUCER.summary
