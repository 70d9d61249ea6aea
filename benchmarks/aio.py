"""gochan's asyncio side (both builds) against asyncio.Queue and janus.

    .venv/bin/python benchmarks/aio.py              # 5 repetitions per build, ~3 minutes
    .venv/bin/python benchmarks/aio.py --quick      # smoke run
    .venv/bin/python benchmarks/aio.py --reps 9 --scale 2
    .venv/bin/python benchmarks/aio.py --build pure # one build only

gochan's compiled and pure builds are measured side by side, each repetition once
per build in a child process of its own, alternating (as ``channels.py`` does; see
``_common.run_builds``). pygolang has no asyncio side, so it is not a peer here.

What is measured (ops/s = items moved per second, one producer and one consumer):

- task to task, on one event loop: a task sends ``n`` ints with ``await
  ch.send_async(i)``, another receives them with ``await ch.recv_async()``,
  against ``asyncio.Queue`` doing the same (``put``/``get``). Capacities 1 and 64
  (same ``maxsize``), and gochan's unbuffered rendezvous against
  ``asyncio.Queue(1)`` (``maxsize=0`` is unbounded there). Target: at least half
  of ``asyncio.Queue``'s rate.
- thread to task: a plain thread sends with the blocking ``ch.send(i)``, a task on
  the loop in the main thread receives with ``await ch.recv_async()``, against
  ``janus.Queue`` (``sync_q.put`` / ``await async_q.get()``). Capacities 1 and 64,
  and unbuffered against ``janus.Queue(1)``. Target: at or above janus.

Variants of one case are interleaved (A B, B A, ...) and each ratio is the median
of the per-repetition ratios. The loop and the thread are set up outside the
timed region. Results go to ``results/aio.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from _common import (
    Group,
    Stuck,
    Variant,
    available_builds,
    builds_json,
    check_build,
    cross_build_ratios,
    groups_json,
    machine_info,
    merged_groups,
    progress,
    run_build_children,
    run_interleaved,
    write_json,
)

from gochan import Chan

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

# Items per measurement at --scale 1.
BASE_N = {
    "t2t_cap0": 50_000,
    "t2t_cap1": 50_000,
    "t2t_cap64": 200_000,
    "thread2task_cap0": 20_000,
    "thread2task_cap1": 20_000,
    "thread2task_cap64": 100_000,
}

# (group, numerator, denominator, minimum ratio): what "fast enough" means.
TARGETS = [
    ("t2t_cap0", "gochan", "asyncio_queue", 0.5),
    ("t2t_cap1", "gochan", "asyncio_queue", 0.5),
    ("t2t_cap64", "gochan", "asyncio_queue", 0.5),
    ("thread2task_cap0", "gochan", "janus", 1.0),
    ("thread2task_cap1", "gochan", "janus", 1.0),
    ("thread2task_cap64", "gochan", "janus", 1.0),
]

Runner = Callable[[], float]


def timed_run(body: Callable[[], Coroutine[Any, Any, float]]) -> Runner:
    """A runner that starts a fresh event loop and returns the seconds ``body`` timed."""
    return lambda: asyncio.run(body())


# -- task to task ------------------------------------------------------------------------


def t2t_gochan(cap: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        async def body() -> float:
            ch: Chan[int] = Chan(cap)
            send, recv = ch.send_async, ch.recv_async

            async def producer() -> None:
                for i in range(n):
                    await send(i)

            async def consumer() -> None:
                for _ in range(n):
                    await recv()

            start = time.perf_counter()
            await asyncio.gather(producer(), consumer())
            return time.perf_counter() - start

        return timed_run(body)

    return make


def t2t_queue(maxsize: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        async def body() -> float:
            q: asyncio.Queue[int] = asyncio.Queue(maxsize)
            put, get = q.put, q.get

            async def producer() -> None:
                for i in range(n):
                    await put(i)

            async def consumer() -> None:
                for _ in range(n):
                    await get()

            start = time.perf_counter()
            await asyncio.gather(producer(), consumer())
            return time.perf_counter() - start

        return timed_run(body)

    return make


# -- thread to task ----------------------------------------------------------------------


async def thread_to_task(put: Callable[[int], Any], get: Callable[[], Any], n: int) -> float:
    """A thread calls ``put`` ``n`` times while this task awaits ``get()`` ``n`` times."""
    go = threading.Event()

    def producer() -> None:
        go.wait()
        for i in range(n):
            put(i)

    thread = threading.Thread(target=producer, name="bench-producer", daemon=True)
    thread.start()
    start = time.perf_counter()
    go.set()
    for _ in range(n):
        await get()
    elapsed = time.perf_counter() - start
    thread.join()
    return elapsed


def thread2task_gochan(cap: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        async def body() -> float:
            ch: Chan[int] = Chan(cap)
            return await thread_to_task(ch.send, ch.recv_async, n)

        return timed_run(body)

    return make


def thread2task_janus(maxsize: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        import janus

        async def body() -> float:
            q: janus.Queue[int] = janus.Queue(maxsize)
            try:
                return await thread_to_task(q.sync_q.put, q.async_q.get, n)
            finally:
                q.close()
                await q.wait_closed()

        return timed_run(body)

    return make


# -- groups ------------------------------------------------------------------------------


def _group(name: str, n: int) -> Group:
    kind, _, cap_text = name.partition("_cap")
    cap = int(cap_text)
    other_size = max(cap, 1)  # maxsize=0 means unbounded for the queues
    if kind == "t2t":
        return Group(
            name,
            f"task -> task on one loop, capacity {cap} (asyncio.Queue({other_size}))",
            "items/s",
            n,
            [
                Variant("gochan", f"gochan Chan({cap}) async", t2t_gochan(cap)),
                Variant("asyncio_queue", f"asyncio.Queue({other_size})", t2t_queue(other_size)),
            ],
        )
    return Group(
        name,
        f"thread -> task, capacity {cap} (janus.Queue({other_size}))",
        "items/s",
        n,
        [
            Variant("gochan", f"gochan Chan({cap}) send/recv_async", thread2task_gochan(cap)),
            Variant("janus", f"janus.Queue({other_size})", thread2task_janus(other_size)),
        ],
    )


def compute_ratios(groups: dict[str, Group]) -> list[dict[str, Any]]:
    out = []
    for name, num, den, minimum in TARGETS:
        if name not in groups:
            continue
        ratio, per_rep = groups[name].paired_ratio(num, den)
        out.append(
            {
                "group": name,
                "ratio": f"{num} / {den}",
                "median": ratio,
                "per_rep": per_rep,
                "target": minimum,
                "pass": ratio >= minimum,
            }
        )
    return out


def print_tables(groups: dict[str, Group], ratios: list[dict[str, Any]], reps: int) -> None:
    print(f"\nmedians of {reps} (items/s)")
    for group in groups.values():
        print(f"\n{group.title}  [n={group.n}]")
        for v in group.variants:
            print(f"  {v.label:<36} {v.median:>14,.0f}")
    print("\nratios (median of per-repetition ratios)")
    for r in ratios:
        verdict = "PASS" if r["pass"] else "FAIL"
        print(
            f"  {r['group']:<20} {r['ratio']:<24} {r['median']:6.2f}x"
            f"   target >= {r['target']:.1f}x  {verdict}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every n")
    parser.add_argument("--quick", action="store_true", help="1 repetition, n/10, no warm-up")
    parser.add_argument("--only", nargs="+", choices=list(BASE_N), help="run these groups")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    parser.add_argument(
        "--build",
        choices=["both", "compiled", "pure", "loaded"],
        default="both",
        help="gochan build(s) to measure, each in child processes (default both; "
        "loaded: the one this process runs, in-process)",
    )
    parser.add_argument("--expect-build", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = 1
        args.scale *= 0.1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build == "loaded":
        return run_loaded(args, argv)
    return run_both(args, argv)


def run_loaded(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Every group in this process, on the build it runs (a child of run_both)."""
    build = check_build(args.expect_build)
    names = args.only or list(BASE_N)
    info = machine_info(REPO)
    progress(
        f"aio benchmark ({build['build']} build): reps={args.reps} scale={args.scale} on "
        f"{info['cpu_model']} ({info['cpus_usable']} CPUs), Python {info['python_version']}"
    )
    groups: dict[str, Group] = {}
    for name in names:
        group = _group(name, max(int(BASE_N[name] * args.scale), 8))
        try:
            run_interleaved(group, args.reps, warmup=not args.quick)
        except Stuck as exc:
            progress(f"{name}: STUCK ({exc}); aborting")
            return 2
        groups[name] = group

    ratios = compute_ratios(groups)
    print_tables(groups, ratios, args.reps)
    failed = [r for r in ratios if not r["pass"]]
    print(f"\ntargets: {len(ratios) - len(failed)}/{len(ratios)} PASS")

    from importlib.metadata import version

    data = {
        "benchmark": "aio",
        "command": " ".join(["benchmarks/aio.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "config": {
            "reps": args.reps,
            "scale": args.scale,
            "quick": args.quick,
            "order": "interleaved, rotated each repetition; ratio = median of per-rep ratios",
            "event_loop": "asyncio default loop, one asyncio.run per measurement (not timed)",
            "janus": f"janus {version('janus')}",
        },
        "build": build,
        "groups": groups_json(groups.values()),
        "ratios": ratios,
        "targets_passed": len(ratios) - len(failed),
        "targets_total": len(ratios),
    }
    out_json = args.out_dir / "aio.json"
    write_json(out_json, data)
    progress(f"wrote {out_json}")
    return 1 if (args.strict and failed) else 0


def run_both(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Each build in child processes, alternating; the ratios side by side."""
    from importlib.metadata import version

    builds = available_builds(args.build)
    info = machine_info(REPO)
    progress(
        f"aio benchmark: builds {', '.join(builds)}, reps={args.reps} scale={args.scale} on "
        f"{info['cpu_model']} ({info['cpus_usable']} CPUs), Python {info['python_version']}"
    )
    # --quick divides the child's scale by 10 again: give it the scale before.
    child_args = ["--scale", str(args.scale / 0.1 if args.quick else args.scale)]
    if args.quick:
        child_args.append("--quick")
    if args.only:
        child_args += ["--only", *args.only]
    runs = run_build_children(Path(__file__), child_args, builds, args.reps)
    if runs is None:
        return 2
    groups = {b: merged_groups(runs[b]) for b in builds}
    ratios = {b: compute_ratios(groups[b]) for b in builds}
    for b in builds:
        print(f"\n=== {b} build: {runs[b][0]['build']}")
        print_tables(groups[b], ratios[b], args.reps)
    # Each build's rate divided by the peer's in the same run (see cross_build_ratios).
    cross = cross_build_ratios(
        groups,
        [(name, "gochan", "asyncio_queue" if name.startswith("t2t") else "janus")
         for name in groups[builds[0]]],
    )
    print("\n=== side by side (median of per-repetition ratios)\n")
    print(f"{'group':<20} {'ratio':<24}" + "".join(f"{b:>10}" for b in builds) + "  target")
    for i, r in enumerate(ratios[builds[0]]):
        cells = "".join(f"{ratios[b][i]['median']:>9.2f}x" for b in builds)
        print(f"{r['group']:<20} {r['ratio']:<24}{cells}  >= {r['target']:.1f}x")
    if cross:
        print("\ncompiled / pure, gochan (same repetition, each / its peer)")
        for r in cross:
            lo, hi = r["spread"]
            print(f"  {r['group']:<20} {r['ratio']:6.2f}x  ({lo:.2f}..{hi:.2f})")
    every = [r for b in builds for r in ratios[b]]
    failed = [r for r in every if not r["pass"]]
    print(f"\ntargets: {len(every) - len(failed)}/{len(every)} PASS")
    data = {
        "benchmark": "aio",
        "command": " ".join(["benchmarks/aio.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "config": {
            "reps": args.reps,
            "scale": args.scale,
            "quick": args.quick,
            "order": "per repetition one child process per build, builds alternating; within "
            "a child, variants interleaved and rotated; ratio = median of per-rep ratios",
            "event_loop": "asyncio default loop, one asyncio.run per measurement (not timed)",
            "janus": f"janus {version('janus')}",
        },
        "builds": builds_json(builds, runs, groups, ratios),
        "compiled_vs_pure": cross,
        "targets_passed": len(every) - len(failed),
        "targets_total": len(every),
    }
    out_json = args.out_dir / "aio.json"
    write_json(out_json, data)
    progress(f"wrote {out_json}")
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
