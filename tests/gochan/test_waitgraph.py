"""The wait-for graph (``gochan/_waitgraph.py``, ``_graphsvg.py``): who waits on what,
who could unblock it, the cycle or the dangling wait marked; DOT and SVG.

Deadlocks run as the scripts in ``scripts/`` (in a subprocess, as their users run
them), writing ``Deadlock.graph``; live stalls are drawn with ``gochan.wait_graph()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from gochan_helpers import JOIN_TIMEOUT, wait_blocked

import gochan
from gochan import Chan, WaitGraph, go, nilchan

SCRIPTS = Path(__file__).parent / "scripts"
REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def deadlock_graph(script: str, tmp_path: Path) -> tuple[str, str]:
    """Run ``scripts/<script>.py``; return its deadlock's graph as (DOT, SVG)."""
    code = (
        "import runpy, sys, gochan\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPTS / (script + '.py'))!r}, run_name='__main__')\n"
        "except gochan.Deadlock as exc:\n"
        f"    exc.graph.write({str(tmp_path / 'g.dot')!r})\n"
        f"    exc.graph.write({str(tmp_path / 'g.svg')!r}, engine='builtin')\n"
        "    sys.exit(3)\n"
    )
    env = dict(os.environ, GOCHAN_DEADLOCK="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    return (tmp_path / "g.dot").read_text(), (tmp_path / "g.svg").read_text()


def svg_graph(svg: str) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    """Nodes (id -> attributes and text) and edges of one of our SVGs, read as XML."""
    root = ET.fromstring(svg)
    nodes, edges = {}, []
    for g in root.iter(f"{SVG}g"):
        cls = g.get("class")
        text = " | ".join(t.text or "" for t in g.iter(f"{SVG}text"))
        if cls == "node":
            nodes[g.findtext(f"{SVG}title") or ""] = {**g.attrib, "text": text}
        elif cls == "edge":
            edges.append({**g.attrib, "text": text})
    return nodes, edges


def test_waitgroup_deadlock_is_a_red_cycle(tmp_path: Path) -> None:
    """main waits on wg, which only the worker can release; the worker waits on jobs,
    which only main can feed or close: a cycle, drawn red."""
    dot, svg = deadlock_graph("deadlock_waitgroup", tmp_path)
    nodes, edges = svg_graph(svg)
    labels = {node["text"].split(" | ")[0]: node for node in nodes.values()}
    assert set(labels) == {"MainThread", "wg", "goroutine 1 worker", "jobs"}
    pairs = {(nodes[e["data-src"]]["text"].split(" | ")[0],
              nodes[e["data-dst"]]["text"].split(" | ")[0], e["data-kind"]) for e in edges}
    assert pairs == {
        ("MainThread", "wg", "waits"),
        ("wg", "goroutine 1 worker", "unblocks"),
        ("goroutine 1 worker", "jobs", "waits"),
        ("jobs", "MainThread", "unblocks"),
    }
    assert all(e["data-highlight"] == "cycle" for e in edges)
    assert all(n["data-highlight"] == "cycle" for n in nodes.values())
    assert "deadlock_waitgroup.py:20" in labels["MainThread"]["text"]
    assert "[WaitGroup.wait" in labels["MainThread"]["text"]
    assert "made at scripts/deadlock_waitgroup.py:5" in labels["jobs"]["text"]
    assert dot.startswith("digraph waitfor {") and '"main" -> "o' in dot
    assert dot.count('#c62828", penwidth=2') == 8  # red: four nodes, four edges


def test_two_party_deadlock(tmp_path: Path) -> None:
    _, svg = deadlock_graph("deadlock_two_party", tmp_path)
    _, edges = svg_graph(svg)
    assert len(edges) == 4 and {e["data-highlight"] for e in edges} == {"cycle"}


def test_nil_channel_wait_is_dangling(tmp_path: Path) -> None:
    _, svg = deadlock_graph("deadlock_nil_select", tmp_path)
    nodes, edges = svg_graph(svg)
    assert nodes["nil"]["data-highlight"] == "dangling"
    assert "nilchan: never ready" in nodes["nil"]["text"]
    assert {e["data-kind"] for e in edges} == {"waits"}
    assert {e["data-highlight"] for e in edges} == {"dangling"}


def test_a_stall_drawn_live() -> None:
    """A goroutine blocked on a send nobody else can receive is dangling; one that main
    could unblock has main (running) as its helper, and no cycle is claimed."""
    lost: Chan[int] = Chan()
    fed: Chan[int] = Chan()

    def stuck() -> None:
        lost.send(1)  # only this goroutine knows `lost`... and the test, via the closure

    def waiting() -> None:
        fed.recv()

    def forgotten() -> None:
        with pytest.raises(TimeoutError):
            nilchan.recv(timeout=0.5)

    g1, g2, g3 = go(waiting), go(forgotten), go(stuck)
    wait_blocked(3)
    graph = gochan.wait_graph()
    assert isinstance(graph, WaitGraph)
    fed_node = next(k for k, n in graph.nodes.items() if n.label == "fed")
    helpers = {graph.nodes[e.dst].label for e in graph.edges if e.src == fed_node}
    assert helpers == {"MainThread"}  # this test's frame names `fed`
    assert graph.nodes["main"].state == "running"
    assert graph.nodes["nil"].highlight == "dangling"
    assert not graph.cycles
    fed.send(1)
    lost.recv()
    for g in (g1, g2, g3):
        assert g.join(JOIN_TIMEOUT)
    assert "--recv--> fed" in str(graph)


def test_write_picks_the_format(tmp_path: Path) -> None:
    graph = gochan.wait_graph()
    assert graph.write(tmp_path / "g.dot").read_text().startswith("digraph")
    svg = graph.write(tmp_path / "g.svg", engine="builtin").read_text()
    ET.fromstring(svg)
    with pytest.raises(ValueError, match=r"must be \.svg, \.dot or \.gv"):
        graph.write(tmp_path / "g.png")
    with pytest.raises(ValueError, match="engine must be"):
        graph.to_svg("neato")


def test_dot_engine_says_graphviz_is_missing(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz"):
        gochan.wait_graph().to_svg("dot")
    assert gochan.wait_graph().to_svg("auto").startswith("<svg")  # ours instead


def test_svg_is_ours_unless_graphviz_is_asked_for(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """The default SVG is the same on every machine (the data-* attributes that the
    browser tests read), even where a Graphviz dot is on PATH; engine="dot" uses it."""
    fake_dot = tmp_path / "dot"
    fake_dot.write_text("#!/bin/sh\ncat >/dev/null\necho '<svg id=\"from-dot\"/>'\n")
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    graph = gochan.wait_graph()
    assert "from-dot" not in graph.write(tmp_path / "g.svg").read_text()
    assert "from-dot" in graph.to_svg("dot")
    assert "from-dot" in graph.to_svg("auto")


def test_a_bound_method_held_in_a_variable_counts() -> None:
    """``release = ch.recv`` (a compiled method on the compiled build) holds ``ch``."""
    ch: Chan[int] = Chan()
    g = go(ch.send, 1)
    wait_blocked(1, chan=ch)

    def helper(release: object, done: Chan[int]) -> None:
        done.recv()  # parked, holding `release` only

    done: Chan[int] = Chan()
    h = go(helper, ch.recv, done)
    wait_blocked(2)
    graph = gochan.wait_graph()
    key = next(k for k, n in graph.nodes.items() if n.kind == "object" and
               any(e.src == g_id and e.dst == k for g_id in graph.nodes for e in graph.edges
                   if graph.nodes[g_id].label.endswith("send")))
    helpers = {graph.nodes[e.dst].label for e in graph.edges if e.src == key}
    assert any(label.endswith("helper") for label in helpers), str(graph)
    done.send(0)
    ch.recv()
    assert g.join(JOIN_TIMEOUT) and h.join(JOIN_TIMEOUT)
