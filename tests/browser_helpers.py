"""Headless Chromium for the tests that look at pages as a person would.

Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them; CI runs
it first). Selenium is pointed at that chromedriver explicitly, so it never tries to
download a driver of its own. A missing browser fails the test, saying how to install
it: these tests are never skipped. Also: a demo run with ``--trace``/``--graph``, and
readers of the timeline and the wait-for graph as the browser shows them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["chain", "chromium", "graph", "hover", "run_demo", "timeline"]

REPO = Path(__file__).resolve().parents[1]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@contextmanager
def chromium(width: int = 1400, height: int = 800) -> Iterator[Any]:
    """A headless Chromium WebDriver session (quit on exit)."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.fail("headless Chromium is needed: `make browser` installs Debian's chromium "
                    f"and chromium-driver (found browser={browser}, chromedriver={driver_path})")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is needed: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def run_demo(package: str, name: str, tmp_path: Path,
             bootstrap: str | None = None) -> tuple[Path, Path, str]:
    """``python -m PACKAGE NAME --trace trace.html --graph graph.svg`` as a user runs it
    (``KAFKA_BOOTSTRAP_SERVERS=bootstrap`` if given); the two files and the output."""
    trace, graph = tmp_path / "trace.html", tmp_path / "graph.svg"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    if bootstrap is not None:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    out = subprocess.run([sys.executable, "-m", package, name, "--trace", str(trace),
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
    """The graph's edges as (source label, kind, destination label)."""
    return {(nodes[e["src"]]["label"], e["kind"], nodes[e["dst"]]["label"]) for e in edges}
