"""Shared fixtures for the whole test suite.

Every test is checked for leaked goroutines by gochan's own pytest plugin
(``gochan/pytest_plugin.py``, enabled for the suite with ``goroutine_leak_check =
true`` in pyproject's ``[tool.pytest.ini_options]``): like Uber's goleak, a test
that leaves goroutines running fails at teardown with a listing of each one.
Mark a test ``allow_goroutine_leaks`` to skip the check.
"""
