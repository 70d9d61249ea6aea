"""Shared fixtures for the whole test suite.

``_no_goroutine_leaks`` fails any test that leaves a gochan goroutine running, like
Uber's goleak: after the test it retries with goleak's schedule (sleep 1 µs,
doubling up to 100 ms, about 2 s in all) so goroutines that are winding down can
exit, then lists each leaked goroutine. Goroutines already running before the
test are not blamed on it. Mark a test ``allow_goroutine_leaks`` to skip the check.

This is a stop-gap until the diagnostics issue ships gochan's own pytest plugin;
replace it then.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import gochan
from gochan._registry import blocked_snapshot

LEAK_RETRY_SECONDS = 2.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_goroutine_leaks: do not fail the test for goroutines it leaves running"
    )


def _describe(goroutine: gochan.Goroutine) -> str:
    ident = goroutine.thread.ident
    for blocked in blocked_snapshot():
        if blocked.ident == ident:
            chans = ", ".join(f"{kind} {obj!r}" for kind, obj in blocked.cases)
            return f"  {goroutine!r} [{blocked.op}] {chans}"
    return f"  {goroutine!r} [running]"


@pytest.fixture(autouse=True)
def _no_goroutine_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("allow_goroutine_leaks"):
        yield
        return
    baseline = {g.id for g in gochan.goroutines()}
    yield
    delay = 1e-6
    deadline = time.monotonic() + LEAK_RETRY_SECONDS
    while True:
        leaked = [g for g in gochan.goroutines() if g.id not in baseline]
        if not leaked or time.monotonic() >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    if leaked:
        pytest.fail(
            "found unexpected goroutines:\n" + "\n".join(_describe(g) for g in leaked),
            pytrace=False,
        )
