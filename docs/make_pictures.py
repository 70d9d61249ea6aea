"""The README's pictures, made by the project's own commands (``make pictures``).

1. ``trace-successes-not-read.png``: ``python -m producer.demos successes-not-read --trace
   ... --graph ...`` (a local broker is started for it, or ``KAFKA_BOOTSTRAP_SERVERS``),
   its HTML timeline shot in headless Chromium;
2. ``graph-successes-not-read.png``: the wait-for graph of that run, as it stalled;
3. ``graph-deadlock-waitgroup.png``: ``tests/gochan/scripts/deadlock_waitgroup.py``
   run until its ``gochan.Deadlock``, whose ``graph`` is written as SVG and shot.

    .venv/bin/python docs/make_pictures.py [--out docs]

Needs Debian's chromium and chromium-driver (``make browser``) and selenium (dev extra).
The HTML and SVG files are kept next to the PNGs' build directory only (not committed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPT = REPO / "tests" / "gochan" / "scripts" / "deadlock_waitgroup.py"


def browser(width: int, height: int) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        sys.exit("needs headless Chromium: make browser")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


def shoot(page: Path, png: Path, width: int) -> None:
    """Open ``page`` and save a screenshot of all of it (``width`` pixels wide)."""
    driver = browser(width, 900)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        driver.get(page.as_uri())
        height = driver.execute_script("""
            const svg = document.querySelector('svg#timeline') || document.documentElement;
            if (svg.tagName === 'svg' && svg.height && svg.height.baseVal)
                return Math.ceil(svg.getBoundingClientRect().top + svg.height.baseVal.value) + 12;
            return document.documentElement.scrollHeight;""")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        driver.save_screenshot(str(png))
    finally:
        driver.quit()
    print(f"wrote {png}")


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    return e


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gochan-pictures-") as tmpdir:
        tmp = Path(tmpdir)
        trace, graph = tmp / "trace.html", tmp / "graph.svg"
        subprocess.run([sys.executable, "-m", "producer.demos", "successes-not-read",
                        "--trace", trace.name, "--graph", graph.name], env=env(), check=True,
                       cwd=tmp)
        shoot(trace, args.out / "trace-successes-not-read.png", 1300)
        shoot(graph, args.out / "graph-successes-not-read.png", 1220)
        deadlock = tmp / "deadlock.svg"
        code = ("import runpy, sys, gochan\n"
                "try:\n"
                f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
                "except gochan.Deadlock as exc:\n"
                f"    exc.graph.write({str(deadlock)!r})\n")
        subprocess.run([sys.executable, "-c", code], env=dict(env(), GOCHAN_DEADLOCK="1"),
                       check=True, cwd=REPO / "tests" / "gochan")
        shoot(deadlock, args.out / "graph-deadlock-waitgroup.png", 1120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
