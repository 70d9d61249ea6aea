"""gochan's pytest plugin (entry point ``gochan_leaks``): fail tests that leak goroutines.

Like Uber's goleak. After a checked test, and after its fixtures are torn down,
every goroutine started during the test must have exited; those still running get
goleak's retry schedule (sleep 1 µs, doubling up to 100 ms, about 2 s in all) to
wind down. Goroutines already running before the test are not blamed on it. A
leak is reported as an error at teardown whose message starts with ``found
unexpected goroutines:`` and holds each leaked goroutine's dump entry (state,
channel, stack, ``created by``). A test that already failed is not checked.

Which tests are checked:

- a test that requests the ``goroutine_leak_check`` fixture;
- a test marked ``@pytest.mark.no_goroutine_leaks``;
- every test, with ``--goroutine-leaks`` or the ini option
  ``goroutine_leak_check = true``; then ``@pytest.mark.allow_goroutine_leaks``
  exempts a test.

The ini option ``goroutine_leak_timeout`` (seconds, default 2) sets the retry
budget. This module imports nothing from gochan until a check runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

__all__ = ["goroutine_leak_check"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gochan", "gochan goroutine leak check")
    group.addoption(
        "--goroutine-leaks",
        action="store_true",
        default=False,
        help="fail every test that leaves goroutines running (gochan; like goleak)",
    )
    parser.addini(
        "goroutine_leak_check",
        type="bool",
        default=False,
        help="fail every test that leaves goroutines running (gochan; like goleak)",
    )
    parser.addini(
        "goroutine_leak_timeout",
        default="2.0",
        help="seconds a test's goroutines get to exit before they count as leaked",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_goroutine_leaks: fail the test if it leaves goroutines running (gochan)"
    )
    config.addinivalue_line(
        "markers", "allow_goroutine_leaks: exempt the test from gochan's goroutine leak check"
    )


def _checked(request: pytest.FixtureRequest) -> bool:
    node = request.node
    if node.get_closest_marker("allow_goroutine_leaks") is not None:
        return False
    if node.get_closest_marker("no_goroutine_leaks") is not None:
        return True
    config = request.config
    return bool(config.getoption("goroutine_leaks") or config.getini("goroutine_leak_check"))


@pytest.fixture
def goroutine_leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if goroutines it started are still running after it (goleak).

    Goroutines running before the fixture was set up are ignored. Leaked ones get
    goleak's retry schedule (``goroutine_leak_timeout`` seconds, default 2) to exit.
    """
    from ._dump import verify_none
    from ._goroutine import goroutines

    baseline = goroutines()
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed != failed:
        return  # the test failed (its call report is logged before teardown): that is the news
    timeout = float(request.config.getini("goroutine_leak_timeout"))
    try:
        verify_none(timeout, ignore=baseline)
    except AssertionError as leak:
        message = str(leak)
    else:
        return
    pytest.fail(message, pytrace=False)


@pytest.fixture(autouse=True)
def _gochan_goroutine_leaks(request: pytest.FixtureRequest) -> None:
    """Apply ``goroutine_leak_check`` to marked tests, or to all with the option on.

    Autouse fixtures of plugins are set up first and torn down last, so the check
    runs after the test's own fixtures have stopped their goroutines.
    """
    if _checked(request):
        request.getfixturevalue("goroutine_leak_check")
