"""The goroutine leak checker (``gochan/pytest_plugin.py``), run on inner test files.

Inner sessions run in this process (fast) with plugin autoloading off, so only
``gochan.pytest_plugin`` is loaded, as its ``pytest11`` entry point would load
it. The goroutines the inner tests leak are then released by closing the
channels the registry says they wait on, so they do not outlive the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import gochan
from gochan._registry import blocked_snapshot

pytest_plugins = ["pytester"]

INNER = """
import time

import pytest

import gochan


def _leak():
    ch = gochan.Chan()
    gochan.go(ch.recv)


@pytest.mark.no_goroutine_leaks
def test_marked_leaks():
    _leak()


@pytest.mark.no_goroutine_leaks
def test_marked_clean():
    ch = gochan.Chan()
    gochan.go(ch.send, 1)
    assert ch.recv() == 1


@pytest.mark.no_goroutine_leaks
def test_marked_winding_down():
    gochan.go(time.sleep, 0.05)


def test_fixture_leaks(goroutine_leak_check):
    _leak()


def test_unmarked_leaks():
    _leak()


@pytest.mark.allow_goroutine_leaks
def test_allowed_leaks():
    _leak()


@pytest.mark.no_goroutine_leaks
def test_marked_fails_and_leaks():
    _leak()
    assert False, "the test's own failure"


@pytest.fixture
def factory():
    chans = []

    def start():
        chans.append(gochan.Chan())
        gochan.go(chans[-1].recv)

    start()  # one in setup, more from the test
    yield start
    for ch in chans:
        ch.close()


@pytest.mark.no_goroutine_leaks
def test_fixture_stops_its_goroutines_in_teardown(factory):
    factory()
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.Pytester]:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_inner=INNER)
    baseline = {g.id for g in gochan.goroutines()}
    yield pytester
    leaked = [g for g in gochan.goroutines() if g.id not in baseline]
    idents = {g.thread.ident for g in leaked}
    for blocked in blocked_snapshot():
        if blocked.ident in idents:
            for _, chan in blocked.cases:
                chan.close()
    for g in leaked:
        assert g.join(5)


def _inner_line(text: str) -> int:
    """The line of the first occurrence of ``text`` in the inner file (pytester strips it)."""
    lines = INNER.strip().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p", "gochan.pytest_plugin", "-o", "goroutine_leak_timeout=0.2", "-rA", *args
    )


def _outcome(result: pytest.RunResult, test: str) -> str:
    """``PASSED``/``FAILED``/``ERROR`` lines of the ``-rA`` summary for one test."""
    lines = [line for line in result.outlines if line.endswith(f"::{test}") or f"::{test} " in line]
    return " ".join(line.split()[0] for line in lines if line.split()[0].isupper())


def test_marker_and_fixture_fail_a_leaking_test_with_the_listing(inner: pytest.Pytester) -> None:
    result = _run(inner)
    assert _outcome(result, "test_marked_leaks") == "PASSED ERROR"
    assert _outcome(result, "test_fixture_leaks") == "PASSED ERROR"
    assert _outcome(result, "test_marked_clean") == "PASSED"
    assert _outcome(result, "test_marked_winding_down") == "PASSED"
    assert _outcome(result, "test_unmarked_leaks") == "PASSED"  # not checked by default
    assert _outcome(result, "test_allowed_leaks") == "PASSED"
    # A failing test is reported for its failure only.
    assert _outcome(result, "test_marked_fails_and_leaks") == "FAILED"
    # The check runs after the test's fixtures are torn down.
    assert _outcome(result, "test_fixture_stops_its_goroutines_in_teardown") == "PASSED"
    assert "During handling" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_marked_leaks*",
            "found unexpected goroutines:",
            "",
            'goroutine * "goroutine-* Chan.recv" [[]chan receive, *s]:',
            f"  on <Chan cap=0 len=0 open made at *test_inner.py:{_inner_line('gochan.Chan()')}>",
            f"created by _leak at *test_inner.py:{_inner_line('gochan.go(ch.recv)')}",
        ]
    )


def test_option_checks_every_test(inner: pytest.Pytester) -> None:
    result = _run(inner, "--goroutine-leaks")
    assert _outcome(result, "test_unmarked_leaks") == "PASSED ERROR"
    assert _outcome(result, "test_allowed_leaks") == "PASSED"
    assert _outcome(result, "test_marked_clean") == "PASSED"


def test_ini_option_checks_every_test(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\ngoroutine_leak_check = true\n")
    result = _run(inner, "-k", "unmarked or allowed")
    assert _outcome(result, "test_unmarked_leaks") == "PASSED ERROR"
    assert _outcome(result, "test_allowed_leaks") == "PASSED"
    result.assert_outcomes(passed=2, errors=1)
