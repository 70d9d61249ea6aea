"""Shared helpers for the benchmarks: thread runners, interleaved repetitions, machine info.

Timings on a small, shared machine are noisy, so every benchmark here compares
variants measured in the same run, interleaved (A B C, B C A, ...), and reports
medians. A ratio is the median of the per-repetition ratios: each pair was
measured seconds apart, so slow drifts of the machine cancel out.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BUILDS",
    "Group",
    "Stuck",
    "Variant",
    "available_builds",
    "check_build",
    "cross_build_ratios",
    "groups_json",
    "machine_info",
    "merged_groups",
    "progress",
    "run_builds",
    "run_interleaved",
    "run_threads",
    "time_loop",
    "write_json",
]

# A measurement that takes longer than this has hung (a lost wake-up, a deadlock).
DEFAULT_TIMEOUT = 120.0


class Stuck(RuntimeError):
    """A benchmark's threads did not finish within the time limit."""


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the results table)."""
    print(message, file=sys.stderr, flush=True)


def run_threads(targets: Sequence[Callable[[], None]], timeout: float = DEFAULT_TIMEOUT) -> float:
    """Run each target in its own thread; seconds from a common start until all ended.

    The threads first meet at a barrier with the caller, so thread start-up is not
    timed. An exception in any target is re-raised here; threads still running
    after ``timeout`` seconds raise :class:`Stuck` (they are daemons, so the
    process can still exit).
    """
    barrier = threading.Barrier(len(targets) + 1)
    errors: list[BaseException] = []

    def body(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=body, args=(t,), name=f"bench-{i}", daemon=True)
        for i, t in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    deadline = start + timeout
    for thread in threads:
        thread.join(max(deadline - time.perf_counter(), 0.0))
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise Stuck(f"threads still running after {timeout:.0f} s")
    return elapsed


def time_loop(body: Callable[[], None]) -> float:
    """Seconds one call of ``body`` takes in the calling thread."""
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


@dataclass
class Variant:
    """One contender in a group: ``make(n)`` sets up and returns a callable that runs
    the measurement once and returns elapsed seconds for ``n`` operations."""

    name: str
    label: str
    make: Callable[[int], Callable[[], float]]
    samples: list[float] = field(default_factory=list)  # ops/s, one per repetition

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Group:
    """Variants measured against each other, interleaved, with the same ``n``."""

    name: str
    title: str
    unit: str
    n: int
    variants: list[Variant]
    # Single-threaded cases only: interleave in chunks of this many operations
    # (A B C A B C ... within one repetition), so that every variant meets the same
    # bursts of noise from the rest of the machine. Runners must be reusable.
    chunk: int | None = None

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def paired_ratio(self, num: str, den: str) -> tuple[float, list[float]]:
        """Median of the per-repetition ratios ``num / den`` (ops/s), and the ratios."""
        a, b = self.variant(num).samples, self.variant(den).samples
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        return statistics.median(ratios), ratios


def _measure(variant: Variant, n: int, timeout: float) -> float:
    run = variant.make(n)
    gc.collect()
    elapsed = run()
    if elapsed > timeout:
        raise Stuck(f"{variant.name}: {elapsed:.1f} s")
    return n / elapsed


def run_interleaved(
    group: Group, reps: int, warmup: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Measure every variant of ``group`` ``reps`` times, rotating the order each round.

    Fills ``variant.samples`` with ops/s and prints a progress line per measurement.
    """
    variants = group.variants
    if warmup:
        for v in variants:
            _measure(v, max(group.n // 10, 1), timeout)
    for rep in range(reps):
        shift = rep % len(variants)
        order = variants[shift:] + variants[:shift]
        if group.chunk:
            rates = _measure_chunked(order, group.n, group.chunk)
        else:
            rates = [_measure(v, group.n, timeout) for v in order]
        for v, rate in zip(order, rates, strict=True):
            v.samples.append(rate)
            progress(
                f"[{group.name} rep {rep + 1}/{reps}] {v.label:<34} {rate:>14,.0f} {group.unit}"
            )


def _measure_chunked(order: list[Variant], n: int, chunk: int) -> list[float]:
    """ops/s of each variant, run in alternating chunks of ``chunk`` operations."""
    chunk = max(min(chunk, n), 1)
    rounds = max(n // chunk, 1)
    runners = [v.make(chunk) for v in order]
    totals = [0.0] * len(order)
    gc.collect()
    for _ in range(rounds):
        for i, run in enumerate(runners):
            totals[i] += run()
    return [rounds * chunk / t for t in totals]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(path: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info(repo: Path | None = None) -> dict[str, Any]:
    """What the numbers were measured on (and, given ``repo``, which commit of it)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load: list[float] | None = list(os.getloadavg())
    except OSError:
        load = None
    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "switch_interval_s": sys.getswitchinterval(),
        "load_average_at_start": load,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if repo is not None:
        info["git_commit"] = _git(repo, "rev-parse", "HEAD") or None
        # Uncommitted changes under gochan/ (the code measured is the work tree's).
        status = _git(repo, "status", "--porcelain", "--", "gochan")
        info["gochan_uncommitted"] = status.splitlines() if status else []
    return info


def groups_json(groups: Iterable[Group]) -> dict[str, Any]:
    """Every group's variants, medians and samples, as the results JSON records them."""
    return {
        g.name: {
            "title": g.title,
            "unit": g.unit,
            "n": g.n,
            "variants": {
                v.name: {"label": v.label, "median": v.median, "samples": v.samples}
                for v in g.variants
            },
        }
        for g in groups
    }


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a ``.tmp`` file renamed over ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


# -- both builds of gochan ---------------------------------------------------------------
#
# A process runs one build of gochan's channel core (gochan.build_info()), so comparing
# the compiled and the pure build takes two processes. run_builds() runs the benchmark's
# own script once per repetition and build, alternating the builds (compiled pure, pure
# compiled, ...), each child doing one repetition of every group (with its warm-up) and
# writing its JSON; every ratio to a peer is still taken within one child run, and a
# compiled/pure ratio pairs the two children of the same repetition, each normalised by
# the peer measured beside it (cross_build_ratios).

BUILDS = ("compiled", "pure")


def available_builds(requested: str) -> list[str]:
    """The builds to run for ``--build`` (``both``, ``compiled`` or ``pure``); ``both``
    means the pure one only where no compiled build is installed or ``GOCHAN_PURE=1``."""
    if requested == "both" and os.environ.get("GOCHAN_PURE", "") not in ("", "0"):
        progress("note: GOCHAN_PURE=1: measuring the pure build only")
        return ["pure"]
    out = subprocess.run(
        [sys.executable, "-c", "import gochan; print(gochan.build_info()['build'])"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "GOCHAN_PURE"},
    )
    have_compiled = out.stdout.strip() == "compiled"
    if requested == "both":
        if not have_compiled:
            progress("note: no compiled build installed here: measuring the pure build only")
            return ["pure"]
        return list(BUILDS)
    if requested == "compiled" and not have_compiled:
        raise SystemExit("--build compiled: no compiled build installed (gochan.build_info())")
    return [requested]


def build_env(build: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GOCHAN_PURE"}
    if build == "pure":
        env["GOCHAN_PURE"] = "1"
    return env


def check_build(expected: str | None) -> dict[str, str]:
    """In a child: fail unless this process runs the ``expected`` build."""
    import gochan

    info = gochan.build_info()
    if expected and info["build"] != expected:
        raise SystemExit(f"expected the {expected} build, got {info}")
    return info


def run_builds(
    script: Path, child_args: list[str], builds: Sequence[str], reps: int, workdir: Path
) -> dict[str, list[dict[str, Any]]]:
    """Run ``script --build loaded --reps 1 <child_args>`` ``reps`` times per build,
    alternating builds; each child's JSON (``<workdir>/<build>-<rep>/*.json``) in order."""
    results: dict[str, list[dict[str, Any]]] = {build: [] for build in builds}
    for rep in range(reps):
        shift = rep % len(builds)
        for build in [*builds[shift:], *builds[:shift]]:
            progress(f"== repetition {rep + 1}/{reps}: {build} build")
            out_dir = workdir / f"{build}-{rep}"
            cmd = [
                sys.executable,
                str(script),
                "--build",
                "loaded",
                "--expect-build",
                build,
                "--reps",
                "1",
                "--out-dir",
                str(out_dir),
                *child_args,
            ]
            proc = subprocess.run(cmd, env=build_env(build), stdout=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                raise Stuck(f"{build} build, repetition {rep + 1}: exit {proc.returncode}")
            [path] = sorted(out_dir.glob("*.json"))
            results[build].append(json.loads(path.read_text(encoding="utf-8")))
    return results


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` processes that each keep a CPU busy (``while True: pass``) for the block:
    an oversubscribed machine on purpose, to measure what waiting threads do when the
    scheduler has other work for their CPUs."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)
    ]
    try:
        if procs:
            progress(f"{count} busy process(es) running beside the benchmark")
            time.sleep(0.5)
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def run_build_children(
    script: Path, child_args: list[str], builds: Sequence[str], reps: int
) -> dict[str, list[dict[str, Any]]] | None:
    """:func:`run_builds` in a temporary folder; ``None`` (said on stderr) when a child
    got stuck or failed."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return run_builds(script, child_args, builds, reps, Path(tmp))
    except Stuck as exc:
        progress(f"STUCK ({exc}); aborting")
        return None


def builds_json(
    builds: Sequence[str],
    runs: dict[str, list[dict[str, Any]]],
    groups: dict[str, dict[str, Group]],
    ratios: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The ``builds`` entry of a two-build result file: each build's info, groups, ratios."""
    return {
        b: {
            "build": runs[b][0]["build"],
            "groups": groups_json(groups[b].values()),
            "ratios": ratios[b],
        }
        for b in builds
    }


def merged_groups(runs: list[dict[str, Any]]) -> dict[str, Group]:
    """The groups of several one-repetition child runs, one sample per run and variant."""
    groups: dict[str, Group] = {}
    for run in runs:
        for name, g in run["groups"].items():
            group = groups.get(name)
            if group is None:
                group = groups[name] = Group(
                    name,
                    g["title"],
                    g["unit"],
                    g["n"],
                    [Variant(v, d["label"], _no_make) for v, d in g["variants"].items()],
                )
            for v, d in g["variants"].items():
                group.variant(v).samples.extend(d["samples"])
    return groups


def _no_make(n: int) -> Callable[[], float]:
    raise RuntimeError("a merged result cannot be measured again")


def cross_build_ratios(
    groups: dict[str, dict[str, Group]], variants: Iterable[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """compiled / pure for each ``(group, variant, reference)``, paired by repetition.

    Each build's ops/s is first divided by the ``reference`` variant's (a peer, e.g.
    ``queue.Queue``) measured in the same child run: the two builds run in different
    processes seconds apart, and on a shared machine their raw rates differ by more
    than the builds do; the peer measured beside each cancels that drift out."""
    out = []
    for gname, vname, ref in variants:
        if gname not in groups.get("compiled", {}) or gname not in groups.get("pure", {}):
            continue
        compiled, pure = groups["compiled"][gname], groups["pure"][gname]
        a = [x / r for x, r in zip(compiled.variant(vname).samples,
                                   compiled.variant(ref).samples, strict=True)]
        b = [x / r for x, r in zip(pure.variant(vname).samples,
                                   pure.variant(ref).samples, strict=True)]
        per_rep = [x / y for x, y in zip(a, b, strict=True)]
        out.append(
            {
                "group": gname,
                "variant": vname,
                "reference": ref,
                "label": compiled.variant(vname).label,
                "ratio": statistics.median(per_rep),
                "per_rep": per_rep,
                "spread": [min(per_rep), max(per_rep)],
            }
        )
    return out
