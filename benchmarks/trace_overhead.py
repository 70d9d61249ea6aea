"""What ``gochan.trace`` costs on ``benchmarks/channels.py``: hooks off, and recording.

Three configurations of the same benchmark script, each run in a fresh process,
interleaved (base, off, on, then rotated) for ``--reps`` rounds:

- ``base``: gochan as it was before the trace hooks (the merge-base with ``main``,
  exported with ``git archive`` into a temporary directory, or ``--baseline DIR``);
- ``off``: this tree, no recording (every hook ``None``);
- ``on``: this tree with ``GOCHAN_TRACE=<tmp>.json``: every park, wake and goroutine
  event recorded (the ring of 200,000 fills early and keeps dropping the oldest: the
  steady state of a long recording).

For each gochan variant of each case it prints ops/s (median over the rounds) and two
ratios, each the median of the per-round ratios: ``off/base`` (what the hooks cost
when not recording) and ``on/off`` (what recording costs). The queue.Queue variants run
in every process too; their ``off/base`` ratio shows the noise floor of the machine.

    .venv/bin/python benchmarks/trace_overhead.py [--reps 3] [--scale 0.5] [--only pingpong]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIGS = ("base", "off", "on")


def export_baseline(into: Path) -> str:
    """``gochan/`` at the merge-base of HEAD and main, into ``into``; returns the commit."""
    base = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", base, "gochan"], cwd=REPO, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return base


def run_once(config: str, baseline: Path, tmp: Path, args: argparse.Namespace,
             round_: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("GOCHAN_TRACE", None)
    root = baseline if config == "base" else REPO
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    if config == "on":
        env["GOCHAN_TRACE"] = str(tmp / f"trace-{round_}.json")
    out = tmp / f"{config}-{round_}"
    cmd = [sys.executable, str(HERE / "channels.py"), "--reps", "1", "--scale",
           str(args.scale), "--no-plot", "--out-dir", str(out)]
    for only in args.only or ():
        cmd += ["--only", only]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    data: dict[str, Any] = json.loads((out / "channels.json").read_text())
    return data["groups"]  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="rounds of base/off/on")
    parser.add_argument("--scale", type=float, default=0.5, help="channels.py --scale")
    parser.add_argument("--only", action="append", help="channels.py --only (repeatable)")
    parser.add_argument("--baseline", type=Path, help="a directory holding the old gochan/")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "trace_overhead.json")
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="trace-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        if args.baseline is None:
            baseline = tmp / "baseline"
            baseline.mkdir()
            base_commit = export_baseline(baseline)
        else:
            baseline, base_commit = args.baseline, str(args.baseline)
        for round_ in range(args.reps):
            order = CONFIGS[round_ % 3:] + CONFIGS[:round_ % 3]
            for config in order:
                print(f"round {round_ + 1}/{args.reps}: {config}", file=sys.stderr, flush=True)
                results[config].append(run_once(config, baseline, tmp, args, round_))
    rows = []
    print(f"\nbenchmarks/channels.py --scale {args.scale}, {args.reps} interleaved rounds; "
          f"base = gochan at {base_commit[:12]}\n")
    print(f"{'case':<12} {'variant':<36} {'base':>12} {'off':>12} {'on':>12} "
          f"{'off/base':>9} {'on/off':>7}")
    for group, info in results["base"][0].items():
        for variant, v in info["variants"].items():
            per = {c: [r[group]["variants"][variant]["median"] for r in results[c]]
                   for c in CONFIGS}
            off_base = statistics.median(o / b for o, b in zip(per["off"], per["base"],
                                                                strict=True))
            on_off = statistics.median(o / f for o, f in zip(per["on"], per["off"],
                                                              strict=True))
            med = {c: statistics.median(per[c]) for c in CONFIGS}
            rows.append({"group": group, "variant": variant, "label": v["label"],
                         "unit": info["unit"], **{f"{c}_ops": med[c] for c in CONFIGS},
                         "off_over_base": off_base, "on_over_off": on_off,
                         "samples": per})
            print(f"{group:<12} {v['label'][:36]:<36} {med['base']:>12,.0f} {med['off']:>12,.0f}"
                  f" {med['on']:>12,.0f} {off_base:>9.3f} {on_off:>7.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "trace_overhead",
        "command": " ".join(["benchmarks/trace_overhead.py", *sys.argv[1:]]),
        "baseline": base_commit, "reps": args.reps, "scale": args.scale, "rows": rows,
    }, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
