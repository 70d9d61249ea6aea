"""Shared fixtures for the whole test suite.

Every test is checked for leaked goroutines by gochan's own pytest plugin
(``gochan/pytest_plugin.py``, enabled for the suite with ``goroutine_leak_check =
true`` in pyproject's ``[tool.pytest.ini_options]``): like Uber's goleak, a test
that leaves goroutines running fails at teardown with a listing of each one.
Mark a test ``allow_goroutine_leaks`` to skip the check.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that need a broker last (a stable reorder).

    Starting the session broker leaves the harness's launcher thread running, and a
    few in-process deadlock tests can only run while no other thread exists; the
    quick tests also report first this way.
    """
    items.sort(key=lambda item: item.get_closest_marker("broker") is not None)
