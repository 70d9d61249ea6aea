"""``python -m producer.demos`` (``producer/demos/``): each demo run as its users run it, on
the session broker, with its outcome checked; in-process, where it must leave no thread; and
``successes-not-read``'s ``--trace``/``--graph`` files looked at in headless Chromium."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from browser_helpers import chromium, graph, run_demo, timeline
from demo_helpers import run_demos

from producer.demos import DEMOS, load, summary
from producer.demos.__main__ import main
from producer.testing import KafkaCluster


def demo(name: str | None, bootstrap: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m producer.demos [NAME]`` as a user runs it, on ``bootstrap`` if given."""
    return run_demos("producer.demos", name, summary, load,
                     env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})


def test_list() -> None:
    out = demo(None).stdout
    assert out.startswith("python -m producer.demos NAME runs one of:\n")
    listed = re.findall(r"^  (\S+) +(.+)$", out, re.M)
    assert listed == [(name, summary(name)) for name in DEMOS]
    assert DEMOS == ("successes-not-read", "async-close-without-drain")
    assert all(summary(name) for name in DEMOS)
    assert out.endswith("\n(the channel lessons: python -m gochan.demos)\n")


def test_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["unbuffered-deadlock"])  # a channel lesson: python -m gochan.demos runs it
    assert exit_.value.code == 2
    assert "invalid choice: 'unbuffered-deadlock'" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_successes_not_read(kafka_cluster: KafkaCluster) -> None:
    out = demo("successes-not-read", kafka_cluster.bootstrap_servers).stdout
    assert f"broker {kafka_cluster.bootstrap_servers}, from KAFKA_BOOTSTRAP_SERVERS" in out
    # The stall warning names the blocked send, at its line in the demo.
    assert re.search(r'log: WARNING gochan: thread "MainThread" \[chan send\] blocked for '
                     r"1\.\ds on <Chan cap=256 len=256 .*>, at producer/demos/successes_not_read"
                     r"\.py:\d+: p\.input\(\)\.send\(msg", out)
    assert "AsyncProducer._collect\" [chan send] blocked for" in out  # on successes()
    assert ("input().send() blocked after 1537 messages (gave up after 2.5s): "
            "2*cbs + 4*max(cbs, 1) + 1 = 2*256 + 4*256 + 1 = 1537") in out
    assert "  sent 1537/2000\n" in out  # progress
    assert "2000 acknowledged, 0 failed; the last one is at offset 1999" in out
    assert "2000 sent, no stall; close() returned: every one acknowledged" in out


@pytest.mark.timeout(120)
def test_async_close_without_drain(kafka_cluster: KafkaCluster) -> None:
    out = demo("async-close-without-drain", kafka_cluster.bootstrap_servers).stdout
    assert ("after 3s: successes() closed: False, errors() closed: False, 256 successes "
            "unread, still running: AsyncProducer._dispatch, AsyncProducer._collect, "
            "AsyncProducer._expire_overdue, AsyncProducer._shutdown") in out
    # The stall shows where it is: the result stage's send on the unread successes(),
    # with the hint (the shutdown's wait for it is idle, not reported: issue 14).
    assert re.search(r'AsyncProducer\._collect" \[chan send\] blocked for .*; nobody reads '
                     r"the producer's successes\(\)", out)
    assert "AsyncProducer._shutdown\" [WaitGroup.wait] blocked for" not in out
    assert "500 acknowledged, 0 failed; both closed" in out
    assert "verify_none(): every producer goroutine has exited; producer closed: True" in out
    assert re.search(r"returned after \d+\.\d\ds: all 500 acknowledged, producer closed: True",
                     out)


def _threads() -> set[threading.Thread]:
    # gochan's watchdog and timer threads exit by themselves after an idle second.
    return {t for t in threading.enumerate() if t.name not in ("gochan-watchdog", "gochan-timers")}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", DEMOS)
def test_in_process_leaves_nothing_behind(name: str, kafka_cluster: KafkaCluster,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """run() in this process: exit code 0, and no thread left (the plugin checks goroutines)."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_cluster.bootstrap_servers)
    before = _threads()
    assert load(name).run() == 0, capsys.readouterr().out
    deadline = time.monotonic() + 5.0
    while not _threads() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads() <= before, f"threads left behind: {_threads() - before}"


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_successes_not_read_in_a_browser(kafka_cluster: KafkaCluster, tmp_path: Path) -> None:
    """The seed's stall, drawn from what is blocked at run time: main -> input ->
    dispatcher -> window -> result stage -> successes, which nobody reads.

    Only input() and successes() are named: the stages in between are found by their
    place in the chain (the producer's internals change; the chain must not)."""
    trace, graph_svg, out = run_demo("producer.demos", "successes-not-read", tmp_path,
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
