"""What ``gochan.trace`` costs: its hooks when not recording, and recording.

Three parts, each printing medians and ratios (a ratio is the median of per-round
ratios of interleaved runs):

1. ``park``: the park/wake path alone, in one thread (a ``Waiter`` woken, then parked
   through ``block()``: everything a blocking operation adds except the thread
   switch), CPU ns per park (the fastest run: timeit's rule), in fresh processes of
   three configurations, rotated:

   - ``base``: gochan before the trace hooks (the parent of the commit that added
     them, exported with ``git archive`` and, when this tree runs the compiled build,
     compiled in place; or ``--baseline DIR``); ``GOCHAN_PURE=1`` compares the pure
     builds. Whatever landed on ``main`` after the hooks is on one side only: for a
     clean pair later, export a tree without the hooks and pass ``--baseline``;
   - ``off``: this tree, nothing recording (every hook ``None``);
   - ``on``: this tree, recording (the ring full, dropping the oldest: the steady state).

2. ``channels``: ``benchmarks/channels.py`` itself in the same three configurations
   (``on`` = ``GOCHAN_TRACE=<tmp>.json``), ops/s of each variant. Wall-clock figures
   of two-thread hand-offs: on a loaded machine the unchanged ``queue.Queue`` rows show
   how much is noise. ``--skip-channels`` leaves it out.

3. ``handoffs``: recording on vs off in one process, interleaved: one sender to one
   receiver over ``Chan(0)`` and ``Chan(256)``, and ping-pong, wall and CPU time per op.

    .venv/bin/python benchmarks/trace_overhead.py [--reps 5] [--scale 0.5] [--skip-channels]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIGS = ("base", "off", "on")


def export_baseline(into: Path, compiled: bool) -> str:
    """gochan as of the commit before the trace hooks, into ``into``; returns the commit.

    The commit is the parent of the first one that added ``trace_resume`` to
    ``gochan/_registry.py``. With ``compiled``, its hot modules are compiled in place
    (``setup.py build_ext --inplace``, mypyc) so that both sides run the same build.
    """
    first = subprocess.run(["git", "log", "--reverse", "--format=%H", "-S", "trace_resume",
                            "--", "gochan/_registry.py"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    base = subprocess.run(["git", "rev-parse", f"{first[0]}^" if first else "HEAD"], cwd=REPO,
                          check=True, capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", base, "gochan", "setup.py", "pyproject.toml",
                              "README.md"], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    if compiled:
        subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=into,
                       check=True, capture_output=True)
    return base


def build_of(root: Path) -> str:
    """Which gochan build a process with ``root`` first on its path runs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", "import gochan; print(gochan.build_info()"
                           "['build'])"], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


PARK_CODE = """
import sys, time
from gochan._registry import block
from gochan._waiter import Waiter
trace = sys.argv[1] == "on"
if trace:
    import gochan.trace
    gochan.trace.start(None, max_events=10_000)
n = int(sys.argv[2])
best = []
for _ in range(5):
    start = time.process_time()
    for _ in range(n):
        w = Waiter()
        w.claim()
        w.wake()
        block(w, "chan receive", (), None)
    best.append((time.process_time() - start) / n * 1e9)
print(min(best))
"""


def park_ns(config: str, baseline: Path, n: int) -> float:
    """CPU ns per wake+park in a fresh process of ``config``."""
    env = dict(os.environ)
    env.pop("GOCHAN_TRACE", None)
    root = baseline if config == "base" else REPO
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env["GOCHAN_DEADLOCK"] = "0"  # no watchdog thread: only the path itself
    env["GOCHAN_STALL_WARNING"] = "0"
    mode = "on" if config == "on" else "off"
    out = subprocess.run([sys.executable, "-c", PARK_CODE, mode, str(n)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def handoffs(reps: int, scale: float) -> list[dict[str, Any]]:
    """Recording on vs off in this process: (name, wall on/off, cpu on/off) per case."""
    import gochan
    import gochan.trace
    from gochan import Chan, go

    def one_to_one(cap: int, n: int) -> Callable[[], None]:
        def run() -> None:
            ch: Chan[int | None] = Chan(cap)

            def sender() -> None:
                for i in range(n):
                    ch.send(i)
                ch.close()

            g = go(sender)
            for _ in ch:
                pass
            g.join()
        return run

    def ping_pong(n: int) -> Callable[[], None]:
        def run() -> None:
            ping: Chan[int] = Chan()
            pong: Chan[int] = Chan()

            def echo() -> None:
                for _ in range(n):
                    pong.send(ping.recv())  # type: ignore[arg-type]

            g = go(echo)
            for i in range(n):
                ping.send(i)
                pong.recv()
            g.join()
        return run

    gochan.set_deadlock_detection(False)
    gochan.set_stall_warning(None)
    cases = {
        "1->1 Chan(0)": (int(20_000 * scale), one_to_one(0, int(20_000 * scale))),
        "1->1 Chan(256)": (int(200_000 * scale), one_to_one(256, int(200_000 * scale))),
        "ping-pong": (int(10_000 * scale), ping_pong(int(10_000 * scale))),
    }
    rows = []
    for name, (n, run) in cases.items():
        run()  # warm-up
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for round_ in range(reps):
            for on in ((True, False) if round_ % 2 == 0 else (False, True)):
                rec = gochan.trace.start(None) if on else None
                wall, cpu = time.perf_counter(), time.process_time()
                run()
                times[on].append((time.perf_counter() - wall, time.process_time() - cpu))
                if rec is not None:
                    rec.stop()
        row: dict[str, Any] = {"case": name, "n": n}
        for k, what in ((0, "wall"), (1, "cpu")):
            on_t = [t[k] for t in times[True]]
            off_t = [t[k] for t in times[False]]
            row[f"{what}_on_us"] = statistics.median(on_t) / n * 1e6
            row[f"{what}_off_us"] = statistics.median(off_t) / n * 1e6
            row[f"{what}_on_over_off"] = statistics.median(
                a / b for a, b in zip(on_t, off_t, strict=True))
        rows.append(row)
    return rows


def run_once(config: str, baseline: Path, tmp: Path, args: argparse.Namespace,
             round_: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("GOCHAN_TRACE", None)
    root = baseline if config == "base" else REPO
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    if config == "on":
        env["GOCHAN_TRACE"] = str(tmp / f"trace-{round_}.json")
    out = tmp / f"{config}-{round_}"
    # --build loaded: the build this process's environment selects, in-process (the
    # default, both builds in child processes, would pick its own).
    cmd = [sys.executable, str(HERE / "channels.py"), "--build", "loaded", "--reps", "1",
           "--scale", str(args.scale), "--no-plot", "--out-dir", str(out)]
    for only in args.only or ():
        cmd += ["--only", only]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    data: dict[str, Any] = json.loads((out / "channels.json").read_text())
    return data["groups"]  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--scale", type=float, default=0.5, help="channels.py --scale")
    parser.add_argument("--only", action="append", help="channels.py --only (repeatable)")
    parser.add_argument("--skip-channels", action="store_true", help="leave out part 2")
    parser.add_argument("--park-n", type=int, default=100_000, help="parks per measurement")
    parser.add_argument("--baseline", type=Path, help="a directory holding the old gochan/")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "trace_overhead.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"benchmark": "trace_overhead",
                              "command": " ".join(["benchmarks/trace_overhead.py",
                                                   *sys.argv[1:]]),
                              "reps": args.reps, "scale": args.scale,
                              "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="trace-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        build = build_of(REPO)
        if args.baseline is None:
            baseline = tmp / "baseline"
            baseline.mkdir()
            base_commit = export_baseline(baseline, compiled=build == "compiled")
        else:
            baseline, base_commit = args.baseline, str(args.baseline)
        base_build = build_of(baseline)
        report.update(baseline=base_commit, build=build, baseline_build=base_build)
        print(f"load average {os.getloadavg()[0]:.1f}; base = gochan at {base_commit[:12]} "
              f"({base_build} build), off and on: this tree ({build} build)")
        if base_build != build:
            print("warning: the two sides run different builds", file=sys.stderr)

        # 1. the park/wake path
        park: dict[str, list[float]] = {c: [] for c in CONFIGS}
        for round_ in range(args.reps):
            for config in CONFIGS[round_ % 3:] + CONFIGS[:round_ % 3]:
                park[config].append(park_ns(config, baseline, args.park_n))
        # The fastest run is the cost of the path; slower ones measured the machine's load
        # (timeit's rule), so minima here, not medians.
        best = {c: min(v) for c, v in park.items()}
        off_base, on_off = best["off"] / best["base"], best["on"] / best["off"]
        print(f"\n1. park/wake path, CPU ns per park (fastest of {args.reps} processes x 5 runs "
              f"of {args.park_n:,}):")
        print(f"   base {best['base']:.0f}  off {best['off']:.0f}  on {best['on']:.0f}   "
              f"off/base {off_base:.3f}  on/off {on_off:.3f}")
        report["park"] = {"ns": best, "samples": park, "off_over_base": off_base,
                          "on_over_off": on_off}

        # 2. benchmarks/channels.py
        if not args.skip_channels:
            results: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
            for round_ in range(args.reps):
                for config in CONFIGS[round_ % 3:] + CONFIGS[:round_ % 3]:
                    print(f"   channels.py round {round_ + 1}/{args.reps}: {config}",
                          file=sys.stderr, flush=True)
                    results[config].append(run_once(config, baseline, tmp, args, round_))
            rows = []
            print(f"\n2. benchmarks/channels.py --scale {args.scale}, ops/s (wall), medians of "
                  f"{args.reps} rounds:")
            print(f"{'case':<12} {'variant':<36} {'base':>12} {'off':>12} {'on':>12} "
                  f"{'off/base':>9} {'on/off':>7}")
            for group, info in results["base"][0].items():
                for variant, v in info["variants"].items():
                    per = {c: [r[group]["variants"][variant]["median"] for r in results[c]]
                           for c in CONFIGS}
                    ob = statistics.median(o / b for o, b in zip(per["off"], per["base"],
                                                                  strict=True))
                    oo = statistics.median(o / f for o, f in zip(per["on"], per["off"],
                                                                  strict=True))
                    m = {c: statistics.median(per[c]) for c in CONFIGS}
                    rows.append({"group": group, "variant": variant, "label": v["label"],
                                 "unit": info["unit"], **{f"{c}_ops": m[c] for c in CONFIGS},
                                 "off_over_base": ob, "on_over_off": oo, "samples": per})
                    print(f"{group:<12} {v['label'][:36]:<36} {m['base']:>12,.0f} "
                          f"{m['off']:>12,.0f} {m['on']:>12,.0f} {ob:>9.3f} {oo:>7.3f}")
            report["channels"] = rows

    # 3. recording on vs off, in-process
    rows3 = handoffs(args.reps, 1.0)
    print(f"\n3. hand-offs, recording on vs off in one process (medians of {args.reps}, us/op):")
    print(f"   {'case':<16} {'wall on':>8} {'off':>8} {'on/off':>7}   {'cpu on':>8} {'off':>8} "
          f"{'on/off':>7}")
    for r in rows3:
        print(f"   {r['case']:<16} {r['wall_on_us']:>8.2f} {r['wall_off_us']:>8.2f} "
              f"{r['wall_on_over_off']:>7.3f}   {r['cpu_on_us']:>8.2f} {r['cpu_off_us']:>8.2f} "
              f"{r['cpu_on_over_off']:>7.3f}")
    report["handoffs"] = rows3
    report["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
