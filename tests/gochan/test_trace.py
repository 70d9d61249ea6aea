"""``gochan.trace`` (``gochan/trace/``): what a recording holds and the files it writes.

The timeline as a person sees it (in a browser) is ``test_trace_browser.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gochan_helpers import JOIN_TIMEOUT, wait_blocked

import gochan
from gochan import Chan, WaitGroup, Weighted, _goroutine, _registry, _waiter, background, go, select
from gochan.trace import Recording, render_html

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).name


def recorded(rec: Recording, path: Path) -> dict[str, Any]:
    rec.write(path)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def slices(doc: dict[str, Any], cat: str) -> list[dict[str, Any]]:
    return [e for e in doc["traceEvents"] if e.get("ph") == "X" and e.get("cat") == cat]


def tid_of(doc: dict[str, Any], name_part: str) -> int:
    found = [e["tid"] for e in doc["traceEvents"]
             if e.get("name") == "thread_name" and name_part in e["args"]["name"]]
    assert len(found) == 1, (name_part, found)
    return int(found[0])


def flows(doc: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(from tid, to tid, name) of every hand-off arrow."""
    starts = {e["id"]: e for e in doc["traceEvents"] if e.get("ph") == "s"}
    return [(starts[e["id"]]["tid"], e["tid"], e["name"])
            for e in doc["traceEvents"] if e.get("ph") == "f"]


def test_hooks_are_none_unless_recording(tmp_path: Path) -> None:
    assert _waiter.wake_hook is None and _registry.trace_resume is None
    assert _goroutine.trace_hook is None
    with gochan.trace.record(tmp_path / "t.json") as rec:
        assert gochan.trace.active() is rec
        assert _waiter.wake_hook is not None and _registry.trace_resume is not None
        assert rec._on_park in _registry.park_hooks
    assert _waiter.wake_hook is None and _registry.trace_resume is None
    assert _goroutine.trace_hook is None and rec._on_park not in _registry.park_hooks
    assert gochan.trace.active() is None


def test_unbuffered_handoff_both_ways(tmp_path: Path) -> None:
    """A parked receiver is handed a value; a parked sender's value is taken: both arrows
    point from the sender to the receiver, and each blocked interval names the line."""
    ch: Chan[int] = Chan()
    with gochan.trace.record(tmp_path / "t.json") as rec:
        g = go(ch.recv)  # parks first: main hands it the value
        wait_blocked(1, chan=ch)
        ch.send(1)  # @send-to-parked
        g.join(JOIN_TIMEOUT)

        def sender() -> None:
            ch.send(2)  # @parked-sender

        g2 = go(sender)
        wait_blocked(1, op="chan send", chan=ch)
        assert ch.recv() == 2
        g2.join(JOIN_TIMEOUT)
    doc = recorded(rec, tmp_path / "t.json")
    main, receiver, sender_tid = 0, tid_of(doc, "Chan.recv"), tid_of(doc, "sender")
    blocked = slices(doc, "blocked")
    recv = next(e for e in blocked if e["tid"] == receiver)
    assert recv["name"] == "chan receive" and recv["args"]["outcome"] == "ok"
    assert recv["args"]["woken_by"] == "MainThread"
    assert recv["args"]["channels"][0]["label"] == "Chan(0)"
    assert f"{HERE}:" in recv["args"]["channels"][0]["made_at"]  # the creation site
    send = next(e for e in blocked if e["tid"] == sender_tid)
    assert send["name"] == "chan send"
    assert re.search(rf"{HERE}:\d+ in sender", send["args"]["at"])
    assert send["args"]["source"] == "ch.send(2)  # @parked-sender"  # the user's line
    arrows = flows(doc)
    assert (main, receiver, "handed a value") in arrows
    assert (sender_tid, main, "took the value") in arrows  # sender -> receiver
    lives = {e["tid"]: e for e in slices(doc, "goroutine")}
    assert lives[receiver]["args"]["exited"] and lives[sender_tid]["args"]["exited"]
    assert any(e.get("cat") == "create" and e["tid"] == main for e in doc["traceEvents"])


def test_select_close_timeout_waitgroup_semaphore(tmp_path: Path) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    wg = WaitGroup()
    sem = Weighted(1)
    ctx = background()
    with gochan.trace.record(tmp_path / "t.json") as rec:
        g = go(select, a.recv, b.recv)
        wait_blocked(1, op="select")
        b.send(7)  # case 1
        g.join(JOIN_TIMEOUT)
        g = go(a.recv_ok)
        wait_blocked(1, chan=a)
        a.close()
        g.join(JOIN_TIMEOUT)
        with pytest.raises(TimeoutError):
            b.recv(timeout=0.01)
        wg.add(1)
        g = go(wg.wait)
        wait_blocked(1, op="WaitGroup.wait")
        wg.done()
        g.join(JOIN_TIMEOUT)
        sem.acquire(ctx)
        g = go(sem.acquire, ctx)
        wait_blocked(1, op="semacquire")
        sem.release()
        g.join(JOIN_TIMEOUT)
        sem.release()
    doc = recorded(rec, tmp_path / "t.json")
    by_op: dict[str, list[dict[str, Any]]] = {}
    for e in slices(doc, "blocked"):
        by_op.setdefault(e["name"], []).append(e)
    sel = by_op["select"][0]["args"]
    assert sel["case"] == 1 and [c["kind"] for c in sel["channels"]] == ["recv", "recv"]
    outcomes = {e["args"]["outcome"] for e in by_op["chan receive"]}
    assert outcomes == {"closed", "timeout"}
    assert by_op["chan receive"][0]["args"].get("timeout_s", 0.01) == 0.01
    assert by_op["WaitGroup.wait"][0]["args"]["outcome"] == "ok"
    assert by_op["semacquire"][0]["args"]["outcome"] == "ok"
    names = {name for _, _, name in flows(doc)}
    assert {"handed a value", "close", "released"} <= names


def test_ring_is_bounded_and_says_what_it_dropped(tmp_path: Path) -> None:
    ch: Chan[int] = Chan()

    def echo() -> None:
        for _ in range(200):
            ch.send(0)

    with gochan.trace.record(tmp_path / "t.json", max_events=50) as rec:
        g = go(echo)
        for _ in range(200):
            ch.recv()
        g.join(JOIN_TIMEOUT)
    assert len(rec.events) == 50
    assert rec.dropped == rec.recorded - 50 > 0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["otherData"]["dropped_events"] == rec.dropped
    assert doc["otherData"]["max_events"] == 50
    assert any(e.get("cat") == "dropped" for e in doc["traceEvents"])
    html = render_html(doc)
    assert f'"dropped_events":{rec.dropped}' in html


def test_still_blocked_at_stop(tmp_path: Path) -> None:
    ch: Chan[int] = Chan()
    with gochan.trace.record(tmp_path / "t.json") as rec:
        g = go(ch.recv)
        wait_blocked(1, chan=ch)
    ch.send(1)
    g.join(JOIN_TIMEOUT)
    doc = json.loads((tmp_path / "t.json").read_text())
    (open_,) = slices(doc, "blocked")
    assert open_["args"]["outcome"] == "still blocked"
    assert rec.stopped_ns is not None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"extension must be one of \.json, \.html"):
        gochan.trace.start("trace.txt")
    with pytest.raises(ValueError, match="max_events must be a positive int"):
        gochan.trace.start("t.json", max_events=0)
    rec = gochan.trace.start(None)
    try:
        with pytest.raises(RuntimeError, match="already recording"):
            gochan.trace.start(None)
    finally:
        assert rec.stop() is None
    assert gochan.trace.stop() is None


def test_html_embeds_the_events_safely(tmp_path: Path) -> None:
    doc = {"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0,
                            "args": {"name": "</script><script>alert(1)</script><!--"}}],
           "otherData": {}}
    html = render_html(doc)
    data = html.split('<script type="application/json" id="trace-data">', 1)[1]
    data = data.split("</script>", 1)[0]
    assert json.loads(data) == doc
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no network
    assert "https://" not in html


def test_gochan_trace_environment_variable(tmp_path: Path) -> None:
    """``GOCHAN_TRACE=out.html python app.py`` writes the file at exit, also when the
    program dies of a deadlock, and its children do not inherit it."""
    out = tmp_path / "out.json"
    env = dict(os.environ, GOCHAN_TRACE=str(out), GOCHAN_DEADLOCK="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    code = ("import os, gochan; assert 'GOCHAN_TRACE' not in os.environ; "
            "ch = gochan.Chan(); ch.send(1)")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "gochan.Deadlock" in proc.stderr, proc.stderr
    assert f"gochan: trace written to {out}" in proc.stderr
    doc = json.loads(out.read_text())
    (stuck,) = slices(doc, "blocked")
    assert stuck["name"] == "chan send" and stuck["args"]["outcome"] == "Deadlock"
    assert stuck["args"]["woken_by"] == "gochan-watchdog"


def test_include_merges_another_process(tmp_path: Path) -> None:
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"traceEvents": [
        {"ph": "M", "name": "process_name", "pid": 999999, "tid": 0, "args": {"name": "x"}},
        {"ph": "X", "cat": "blocked", "name": "chan send", "pid": 999999, "tid": 0,
         "ts": 1.0, "dur": 2.0, "args": {}}],
        "otherData": {"dropped_events": 3, "start_us": 1.0, "end_us": 3.0}}))
    with gochan.trace.record(tmp_path / "t.json") as rec:
        rec.include(child, "the child")
    doc = json.loads((tmp_path / "t.json").read_text())
    names = [e["args"]["name"] for e in doc["traceEvents"] if e.get("name") == "process_name"]
    assert "the child" in names and len(names) == 2
    assert doc["otherData"]["dropped_events"] == 3
