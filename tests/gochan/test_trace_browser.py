"""The trace timeline and the wait-for graph as a person sees them: in a real browser.

Each test runs a demo as its users do (``python -m gochan.demos NAME --trace t.html
--graph g.svg``), opens the files in headless Chromium, checks the lanes, the blocked
intervals, the hand-off arrows and the hover text in the DOM, and the graph's nodes and
edges, and saves screenshots under the test's temporary directory (``timeline.png``,
``graph.png``; printed, so ``pytest -s`` shows where). The producer's demos are looked at
the same way in ``tests/producer/functional/test_producer_demos.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import chain, chromium, graph, hover, run_demo, timeline

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_unbuffered_deadlock(tmp_path: Path) -> None:
    """Two processes: the deadlocked child (its main thread's send, ended by the
    watchdog's Deadlock) and the fixed parent, where a goroutine hands main the value."""
    trace, graph_svg, _ = run_demo("gochan.demos", "unbuffered-deadlock", tmp_path)
    with chromium() as driver:
        page = timeline(driver, trace, tmp_path / "timeline.png")
        assert len(page["procs"]) == 2
        assert "broken() in its own interpreter (python -c)" in page["procs"]
        names = [lane["name"] for lane in page["lanes"]]
        assert names.count("MainThread") == 2 and "gochan-watchdog" in names
        (fatal,) = [b for b in page["blocked"] if b["outcome"] == "Deadlock"]
        assert fatal["op"] == "chan send" and "fatal" in fatal["cls"]
        assert "unbuffered_deadlock.py:23 in broken" in fatal["at"]
        assert fatal["channel"].startswith("Chan(0) @") and fatal["dur"] > 100_000  # µs
        assert fatal["width"] > 20  # a visible bar, not a sliver
        assert fatal["fill"] == "#e67e22"  # chan send's colour
        watchdog = next(lane["key"] for lane in page["lanes"] if lane["name"] == "gochan-watchdog")
        assert {"from": watchdog, "to": fatal["lane"], "cls": "handoff"} in page["arrows"]
        tip = hover(driver, "rect.blocked.fatal")
        assert "chan send" in tip and "Deadlock" in tip and "woken by gochan-watchdog" in tip
        assert 'ch.send("hello")' in tip and "made at" in tip
        nodes, edges = graph(driver, graph_svg, tmp_path / "graph.png")
    assert chain(nodes, edges) == {("MainThread", "waits", "ch")}
    assert {n["highlight"] for n in nodes.values()} == {"dangling"}


def test_heartbeat(tmp_path: Path) -> None:
    """The supervisor's selects on main, the hung workers' long receives, the heartbeats
    as arrows from each worker to main, and a graph with nothing stuck (a timer fires)."""
    trace, graph_svg, _ = run_demo("gochan.demos", "heartbeat", tmp_path)
    with chromium() as driver:
        page = timeline(driver, trace, tmp_path / "timeline.png")
        lanes = {lane["name"]: lane["key"] for lane in page["lanes"]}
        workers = [name for name in lanes if name.endswith(" worker")]
        assert len(workers) == 3 and "MainThread" in lanes and "gochan-timers" in lanes
        ys = [lane["y"] for lane in page["lanes"]]
        assert ys == sorted(ys) and len(set(ys)) == len(ys)  # one lane each, top to bottom
        main = lanes["MainThread"]
        assert any(b["lane"] == main and b["op"] == "select" for b in page["blocked"])
        hung = [b for b in page["blocked"] if b["op"] == "chan receive" and b["dur"] > 400_000]
        assert {b["lane"] for b in hung} == {lanes[workers[0]], lanes[workers[1]]}
        beats = [a for a in page["arrows"] if a["to"] == main and a["from"] in
                 {lanes[w] for w in workers}]
        assert len(beats) >= 9  # three beats from each worker
        assert "heartbeat.py" in hover(driver, "rect.blocked[data-op='select']")
        nodes, edges = graph(driver, graph_svg, tmp_path / "graph.png")
    links = chain(nodes, edges)
    assert ("MainThread", "waits", "heartbeat") in links
    assert ("heartbeat", "unblocks", "goroutine 1 worker") in links
    assert ("goroutine 1 worker", "waits", "done") in links
    assert ("done", "unblocks", "MainThread") in links
    assert ("c", "unblocks", "gochan timer") in links
    assert not any(n["highlight"] for n in nodes.values())  # the timer will wake main
