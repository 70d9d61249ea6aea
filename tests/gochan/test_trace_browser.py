"""The trace timeline and the wait-for graph as a person sees them: in a real browser.

Each test runs a demo as its users do (``python -m gochan.demos NAME --trace t.html
--graph g.svg``), opens the files in headless Chromium, checks the lanes, the blocked
intervals, the hand-off arrows and the hover text in the DOM, and the graph's nodes and
edges, and saves screenshots under the test's temporary directory
(``timeline.png``, ``graph.png``; printed, so ``pytest -s`` shows where).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import chromium

from producer.testing import KafkaCluster

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def run_demo(name: str, tmp_path: Path, bootstrap: str | None = None) -> tuple[Path, Path, str]:
    trace, graph = tmp_path / "trace.html", tmp_path / "graph.svg"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    if bootstrap is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    out = subprocess.run([sys.executable, "-m", "gochan.demos", name, "--trace", str(trace),
                          "--graph", str(graph)], capture_output=True, text=True, env=env,
                         timeout=150)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"(trace: {trace})" in out.stdout and f"(wait-for graph: {graph})" in out.stdout
    return trace, graph, out.stdout


def timeline(driver: Any, path: Path, shot: Path) -> dict[str, Any]:
    """Open the timeline; return its lanes, blocked intervals and arrows as the DOM has them."""
    driver.get(path.as_uri())
    driver.find_element("css selector", "svg#timeline[data-rendered='true']")
    page: dict[str, Any] = driver.execute_script("""
        const lanes = [...document.querySelectorAll('g.lane')].map(g => ({
            key: g.dataset.lane, name: g.dataset.name,
            y: g.querySelector('rect.lane-bg').getBBox().y}));
        const blocked = [...document.querySelectorAll('rect.blocked')].map(r => ({
            lane: r.parentNode.dataset.lane, op: r.dataset.op, channel: r.dataset.channel,
            at: r.dataset.at, outcome: r.dataset.outcome, dur: +r.dataset.dur,
            width: r.getBBox().width, cls: r.getAttribute('class'),
            fill: r.getAttribute('fill')}));
        const arrows = [...document.querySelectorAll('path.handoff')].map(p => ({
            from: p.dataset.from, to: p.dataset.to, cls: p.getAttribute('class')}));
        const procs = [...document.querySelectorAll('g.proc text')].map(t => t.textContent);
        return {lanes, blocked, arrows, procs,
                summary: document.getElementById('summary').textContent};
    """)
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000  # a picture, not a blank page
    print(f"screenshot: {shot}")
    return page


def hover(driver: Any, selector: str) -> str:
    """Move the mouse over the first element matching ``selector``; the tooltip's text."""
    from selenium.webdriver.common.action_chains import ActionChains

    element = driver.find_element("css selector", selector)
    ActionChains(driver).move_to_element(element).perform()
    tip = driver.find_element("id", "tooltip")
    assert tip.is_displayed()
    return str(tip.text)


def graph(driver: Any, path: Path, shot: Path) -> tuple[dict[str, dict[str, str]],
                                                        list[dict[str, str]]]:
    """Open the SVG; its nodes (by id) and edges as the browser parsed them."""
    driver.get(path.as_uri())
    found: dict[str, Any] = driver.execute_script("""
        const text = g => [...g.querySelectorAll('text')].map(t => t.textContent);
        const nodes = {};
        for (const g of document.querySelectorAll('g.node')) {
            nodes[g.querySelector('title').textContent] = {
                label: text(g)[0], text: text(g).join(' | '),
                highlight: g.dataset.highlight, state: g.dataset.state};
        }
        const edges = [...document.querySelectorAll('g.edge')].map(g => ({
            src: g.dataset.src, dst: g.dataset.dst, kind: g.dataset.kind,
            label: text(g)[0], highlight: g.dataset.highlight}));
        return {nodes, edges};
    """)
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 5_000
    print(f"screenshot: {shot}")
    return found["nodes"], found["edges"]


def chain(nodes: dict[str, dict[str, str]], edges: list[dict[str, str]]) -> set[tuple[str, ...]]:
    return {(nodes[e["src"]]["label"], e["kind"], nodes[e["dst"]]["label"]) for e in edges}


def test_unbuffered_deadlock(tmp_path: Path) -> None:
    """Two processes: the deadlocked child (its main thread's send, ended by the
    watchdog's Deadlock) and the fixed parent, where a goroutine hands main the value."""
    trace, graph_svg, _ = run_demo("unbuffered-deadlock", tmp_path)
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
    trace, graph_svg, _ = run_demo("heartbeat", tmp_path)
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


@pytest.mark.broker
def test_successes_not_read(kafka_cluster: KafkaCluster, tmp_path: Path) -> None:
    """The seed's stall, drawn from what is blocked at run time: main -> input ->
    dispatcher -> window -> result stage -> successes, which nobody reads.

    Only input() and successes() are named: the stages in between are found by their
    place in the chain (the producer's internals change; the chain must not)."""
    trace, graph_svg, out = run_demo("successes-not-read", tmp_path,
                                     kafka_cluster.bootstrap_servers)
    assert re.search(r"\(wait-for graph after \d+\.\ds of waiting: ", out)
    with chromium() as driver:
        nodes, edges = graph(driver, graph_svg, tmp_path / "graph.png")
        page = timeline(driver, trace, tmp_path / "timeline.png")

    def one(src: str, kind: str) -> str:
        (dst,) = [e["dst"] for e in edges if e["src"] == src and e["kind"] == kind]
        return dst

    label = {node_id: n["label"] for node_id, n in nodes.items()}
    main = next(k for k, v in label.items() if v == "MainThread")
    inp = one(main, "waits")
    dispatcher = one(inp, "unblocks")
    window = one(dispatcher, "waits")
    result_stage = one(window, "unblocks")
    successes = one(result_stage, "waits")
    chain_ = [main, inp, dispatcher, window, result_stage, successes]
    assert [label[k] for k in (inp, successes)] == ["input", "successes"], str(chain_)
    assert label[dispatcher].startswith("goroutine ")
    assert label[result_stage].startswith("goroutine ")
    assert len(set(chain_)) == 6
    assert "_async_producer.py" in nodes[window]["text"]  # one of the producer's channels
    assert not [e for e in edges if e["src"] == successes]  # nobody reads it
    assert nodes[successes]["highlight"] == "dangling"
    for node_id in chain_:
        assert nodes[node_id]["highlight"] in ("stuck", "dangling"), label[node_id]
    stalls = [b for b in page["blocked"] if b["op"] == "chan send" and b["dur"] > 1_000_000]
    lanes = {lane["key"]: lane["name"] for lane in page["lanes"]}
    stalled = {lanes[b["lane"]] for b in stalls}
    assert "MainThread" in stalled and len(stalled) >= 3  # main and two stages, blocked
