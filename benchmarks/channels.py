"""gochan channels (both builds) against queue.Queue, janus's sync side and pygolang.

    .venv/bin/python benchmarks/channels.py              # 5 repetitions per build, ~4 minutes
    .venv/bin/python benchmarks/channels.py --quick      # smoke run
    .venv/bin/python benchmarks/channels.py --reps 9 --scale 2
    .venv/bin/python benchmarks/channels.py --build pure # one build only
    .venv/bin/python benchmarks/channels.py --busy 2     # beside 2 CPU-bound processes

gochan's compiled build (mypyc) and its pure-Python build are measured side by side:
each repetition runs once per build, in a child process of its own (``GOCHAN_PURE=1``
for the pure one), alternating their order; every ratio to a peer is taken within
one child run, and compiled/pure pairs the two children of one repetition (see
``_common.run_builds``). pygolang (``golang.chan``, Cython and C++) is a peer where
installed (the ``bench`` extra).

What is measured (every case on plain ``threading.Thread``s, started together at
a barrier; ops/s = items moved, round trips or calls per second):

- throughput: one sender thread, one receiver thread, ``n`` ints, capacity 0
  (gochan's unbuffered rendezvous, against ``queue.Queue(1)`` and janus(1), since
  ``maxsize=0`` means unbounded there), 1, 16 and 256;
- ping-pong: A sends on ch1, B echoes on ch2; round trips per second;
- non-blocking select: ``select`` over 4 empty channels with ``default``, against a
  single non-blocking receive (``try_recv`` catching ``WouldBlock``, and
  ``select(ch.recv, default)``) and ``queue.Queue.get_nowait`` catching ``Empty``;
  single-threaded, so the four alternate in chunks of 5,000 calls within a repetition;
- fan-in: 4 sender threads each feeding their own ``Chan(64)``, one receiver in a
  blocking ``select`` over the 4, against 4 threads feeding one
  ``queue.Queue(256)`` (the same total buffer);
- many-to-many: 4 senders and 4 receivers on one channel of capacity 16.

Variants of one case are interleaved (A B C, B C A, ...) and each ratio is the
median of the per-repetition ratios. Results go to ``results/channels.json`` and a
bar chart of the ratios (both builds) to ``results/channels.png`` (``channels-busyN.*``
with ``--busy N``).
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    Group,
    Stuck,
    Variant,
    available_builds,
    builds_json,
    busy_processes,
    check_build,
    cross_build_ratios,
    groups_json,
    machine_info,
    merged_groups,
    progress,
    run_build_children,
    run_interleaved,
    run_threads,
    time_loop,
    write_json,
)

from gochan import Chan, WouldBlock, default, select

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

# Items (or round trips, or calls) per measurement at --scale 1.
BASE_N = {
    "tput_cap0": 40_000,
    "tput_cap1": 40_000,
    "tput_cap16": 200_000,
    "tput_cap256": 200_000,
    "pingpong": 20_000,
    "nbselect": 200_000,
    "fanin": 100_000,
    "m2m": 100_000,
}

Runner = Callable[[], float]


# -- janus ---------------------------------------------------------------------------


def make_janus(maxsize: int) -> Any:
    """``janus.Queue(maxsize)``; its sync side is what we measure.

    janus 2.0 on Python >= 3.10 needs no event loop to construct (the loop is bound
    lazily by the async side, which we never use). Older combinations require a
    running loop: then construct inside ``asyncio.run``; once that loop is closed,
    janus skips async notifications and the sync side works on its own.
    """
    import janus

    try:
        return janus.Queue(maxsize)
    except RuntimeError:

        async def build() -> Any:
            return janus.Queue(maxsize)

        return asyncio.run(build())


def janus_note() -> str:
    from importlib.metadata import version

    import janus

    v = version("janus")
    try:
        janus.Queue(1)
    except RuntimeError:
        return f"janus {v}: needs a running loop to construct; built inside asyncio.run"
    return f"janus {v}: constructed without an event loop (sync side only)"


# -- pygolang ------------------------------------------------------------------------


def have_pygolang() -> bool:
    try:
        import golang  # noqa: F401
    except ImportError:
        return False
    return True


def pygolang_note() -> str:
    if not have_pygolang():
        return "pygolang: not installed (the bench extra installs it)"
    from importlib.metadata import version

    return f"pygolang {version('pygolang')}: golang.chan on plain threads"


def pygolang_variants(make: Callable[[], list[Variant]]) -> list[Variant]:
    """``make()``'s variants where pygolang is installed, else none."""
    return make() if have_pygolang() else []


# -- 1 -> 1 throughput -----------------------------------------------------------------


def one_to_one(put: Callable[[int], Any], get: Callable[[], Any], n: int) -> float:
    def sender() -> None:
        for i in range(n):
            put(i)

    def receiver() -> None:
        for _ in range(n):
            get()

    return run_threads([sender, receiver])


def tput_gochan(cap: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        ch: Chan[int] = Chan(cap)
        return lambda: one_to_one(ch.send, ch.recv, n)

    return make


def tput_queue(maxsize: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        q: queue.Queue[int] = queue.Queue(maxsize)
        return lambda: one_to_one(q.put, q.get, n)

    return make


def tput_janus(maxsize: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        q = make_janus(maxsize).sync_q
        return lambda: one_to_one(q.put, q.get, n)

    return make


def tput_pygolang(cap: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        from golang import chan

        ch = chan(cap)
        return lambda: one_to_one(ch.send, ch.recv, n)

    return make


def tput_group(cap: int, n: int) -> Group:
    qsize = max(cap, 1)
    gochan_label = "gochan Chan() unbuffered" if cap == 0 else f"gochan Chan({cap})"
    return Group(
        name=f"tput_cap{cap}",
        title=f"1 sender -> 1 receiver, capacity {cap}",
        unit="items/s",
        n=n,
        variants=[
            Variant("gochan", gochan_label, tput_gochan(cap)),
            Variant("queue", f"queue.Queue({qsize})", tput_queue(qsize)),
            Variant("janus", f"janus.Queue({qsize}).sync_q", tput_janus(qsize)),
            *pygolang_variants(
                lambda: [Variant("pygolang", f"pygolang chan({cap})", tput_pygolang(cap))]
            ),
        ],
    )


# -- ping-pong -------------------------------------------------------------------------


def ping_pong(
    send1: Callable[[int], Any],
    recv1: Callable[[], Any],
    send2: Callable[[int], Any],
    recv2: Callable[[], Any],
    n: int,
) -> float:
    def a() -> None:
        for i in range(n):
            send1(i)
            recv2()

    def b() -> None:
        for _ in range(n):
            send2(recv1())

    return run_threads([a, b])


def pp_gochan(cap: int) -> Callable[[int], Runner]:
    def make(n: int) -> Runner:
        c1: Chan[int] = Chan(cap)
        c2: Chan[int] = Chan(cap)
        return lambda: ping_pong(c1.send, c1.recv, c2.send, c2.recv, n)

    return make


def pp_queue(n: int) -> Runner:
    q1: queue.Queue[int] = queue.Queue(1)
    q2: queue.Queue[int] = queue.Queue(1)
    return lambda: ping_pong(q1.put, q1.get, q2.put, q2.get, n)


def pp_janus(n: int) -> Runner:
    q1 = make_janus(1).sync_q
    q2 = make_janus(1).sync_q
    return lambda: ping_pong(q1.put, q1.get, q2.put, q2.get, n)


def pp_pygolang(n: int) -> Runner:
    from golang import chan

    c1 = chan()
    c2 = chan()
    return lambda: ping_pong(c1.send, c1.recv, c2.send, c2.recv, n)


def pingpong_group(n: int) -> Group:
    return Group(
        name="pingpong",
        title="ping-pong round trips (A -> B -> A)",
        unit="RT/s",
        n=n,
        variants=[
            Variant("gochan", "gochan Chan() pair", pp_gochan(0)),
            Variant("gochan_cap1", "gochan Chan(1) pair", pp_gochan(1)),
            Variant("queue", "queue.Queue(1) pair", pp_queue),
            Variant("janus", "janus.Queue(1).sync_q pair", pp_janus),
            *pygolang_variants(lambda: [Variant("pygolang", "pygolang chan() pair", pp_pygolang)]),
        ],
    )


# -- non-blocking receive / select -----------------------------------------------------


def nb_select4(n: int) -> Runner:
    chans: list[Chan[int]] = [Chan(1) for _ in range(4)]
    cases = (chans[0].recv, chans[1].recv, chans[2].recv, chans[3].recv, default)
    sel = select

    def body() -> None:
        for _ in range(n):
            sel(*cases)

    return lambda: time_loop(body)


def nb_select1(n: int) -> Runner:
    ch: Chan[int] = Chan(1)
    cases = (ch.recv, default)
    sel = select

    def body() -> None:
        for _ in range(n):
            sel(*cases)

    return lambda: time_loop(body)


def nb_try_recv(n: int) -> Runner:
    ch: Chan[int] = Chan(1)
    try_recv = ch.try_recv

    def body() -> None:
        for _ in range(n):
            try:
                try_recv()
            except WouldBlock:
                pass

    return lambda: time_loop(body)


def nb_get_nowait(n: int) -> Runner:
    q: queue.Queue[int] = queue.Queue(1)
    get_nowait = q.get_nowait
    empty = queue.Empty

    def body() -> None:
        for _ in range(n):
            try:
                get_nowait()
            except empty:
                pass

    return lambda: time_loop(body)


def nb_select4_pygolang(n: int) -> Runner:
    from golang import chan
    from golang import default as go_default
    from golang import select as go_select

    chans = [chan(1) for _ in range(4)]
    cases = (chans[0].recv, chans[1].recv, chans[2].recv, chans[3].recv, go_default)

    def body() -> None:
        for _ in range(n):
            go_select(*cases)

    return lambda: time_loop(body)


# The single-threaded variants alternate in chunks of this many calls (see Group.chunk).
NB_CHUNK = 5_000


def nbselect_group(n: int) -> Group:
    return Group(
        name="nbselect",
        title="non-blocking receive on empty channels (single thread)",
        unit="calls/s",
        n=n,
        chunk=NB_CHUNK,
        variants=[
            Variant("select4", "select(4 x ch.recv, default)", nb_select4),
            Variant("try_recv", "ch.try_recv() + except WouldBlock", nb_try_recv),
            Variant("select1", "select(ch.recv, default)", nb_select1),
            Variant("queue", "queue.Queue.get_nowait + except", nb_get_nowait),
            *pygolang_variants(
                lambda: [
                    Variant("pygolang", "pygolang select(4 x recv, default)", nb_select4_pygolang)
                ]
            ),
        ],
    )


# -- fan-in ----------------------------------------------------------------------------

FAN = 4


def fanin_gochan(n: int) -> Runner:
    per = n // FAN
    chans: list[Chan[int]] = [Chan(64) for _ in range(FAN)]
    cases = tuple(ch.recv for ch in chans)
    sel = select

    def sender(ch: Chan[int]) -> Callable[[], None]:
        send = ch.send

        def run() -> None:
            for i in range(per):
                send(i)

        return run

    def receiver() -> None:
        for _ in range(per * FAN):
            sel(*cases)

    return lambda: run_threads([*(sender(ch) for ch in chans), receiver])


def fanin_queue_like(put: Callable[[int], Any], get: Callable[[], Any], n: int) -> Runner:
    per = n // FAN

    def sender() -> None:
        for i in range(per):
            put(i)

    def receiver() -> None:
        for _ in range(per * FAN):
            get()

    return lambda: run_threads([*([sender] * FAN), receiver])


def fanin_queue(n: int) -> Runner:
    q: queue.Queue[int] = queue.Queue(64 * FAN)
    return fanin_queue_like(q.put, q.get, n)


def fanin_janus(n: int) -> Runner:
    q = make_janus(64 * FAN).sync_q
    return fanin_queue_like(q.put, q.get, n)


def fanin_group(n: int) -> Group:
    return Group(
        name="fanin",
        title="fan-in: 4 senders -> 1 receiver",
        unit="items/s",
        n=n - n % FAN,
        variants=[
            Variant("gochan", "gochan select over 4 x Chan(64)", fanin_gochan),
            Variant("queue", f"queue.Queue({64 * FAN}), 4 feeders", fanin_queue),
            Variant("janus", f"janus.Queue({64 * FAN}).sync_q", fanin_janus),
        ],
    )


# -- many-to-many ----------------------------------------------------------------------

M2M_CAP = 16


def many_to_many(put: Callable[[int], Any], get: Callable[[], Any], n: int) -> float:
    per = n // FAN

    def sender() -> None:
        for i in range(per):
            put(i)

    def receiver() -> None:
        for _ in range(per):
            get()

    return run_threads([*([sender] * FAN), *([receiver] * FAN)])


def m2m_gochan(n: int) -> Runner:
    ch: Chan[int] = Chan(M2M_CAP)
    return lambda: many_to_many(ch.send, ch.recv, n)


def m2m_queue(n: int) -> Runner:
    q: queue.Queue[int] = queue.Queue(M2M_CAP)
    return lambda: many_to_many(q.put, q.get, n)


def m2m_janus(n: int) -> Runner:
    q = make_janus(M2M_CAP).sync_q
    return lambda: many_to_many(q.put, q.get, n)


def m2m_group(n: int) -> Group:
    return Group(
        name="m2m",
        title=f"many-to-many: 4 senders, 4 receivers, capacity {M2M_CAP}",
        unit="items/s",
        n=n - n % FAN,
        variants=[
            Variant("gochan", f"gochan Chan({M2M_CAP})", m2m_gochan),
            Variant("queue", f"queue.Queue({M2M_CAP})", m2m_queue),
            Variant("janus", f"janus.Queue({M2M_CAP}).sync_q", m2m_janus),
        ],
    )


# -- ratios and targets ----------------------------------------------------------------

# (group, numerator, denominator, label, target or None). Targets are from the issues:
# these for the pure build; COMPILED_TARGETS (issue 19) replace them for the compiled one.
RATIOS: list[tuple[str, str, str, str, float | None]] = [
    ("tput_cap0", "gochan", "queue", "cap 0: Chan() / queue.Queue(1)", 2.0),
    ("tput_cap0", "janus", "queue", "cap 0: janus(1) / queue.Queue(1)", None),
    ("tput_cap0", "pygolang", "queue", "cap 0: pygolang chan() / queue.Queue(1)", None),
    ("tput_cap1", "gochan", "queue", "cap 1: Chan(1) / queue.Queue(1)", 2.5),
    ("tput_cap1", "janus", "queue", "cap 1: janus(1) / queue.Queue(1)", None),
    ("tput_cap1", "pygolang", "queue", "cap 1: pygolang chan(1) / queue.Queue(1)", None),
    ("tput_cap16", "gochan", "queue", "cap 16: Chan(16) / queue.Queue(16)", None),
    ("tput_cap16", "janus", "queue", "cap 16: janus(16) / queue.Queue(16)", None),
    ("tput_cap16", "pygolang", "queue", "cap 16: pygolang chan(16) / queue.Queue(16)", None),
    ("tput_cap256", "gochan", "queue", "cap 256: Chan(256) / queue.Queue(256)", 1.5),
    ("tput_cap256", "janus", "queue", "cap 256: janus(256) / queue.Queue(256)", None),
    ("tput_cap256", "pygolang", "queue", "cap 256: pygolang chan(256) / queue.Queue(256)", None),
    ("pingpong", "gochan", "queue", "ping-pong: Chan() / queue.Queue(1)", 1.0),
    ("pingpong", "gochan_cap1", "queue", "ping-pong: Chan(1) / queue.Queue(1)", None),
    ("pingpong", "janus", "queue", "ping-pong: janus(1) / queue.Queue(1)", None),
    ("pingpong", "pygolang", "queue", "ping-pong: pygolang chan() / queue.Queue(1)", None),
    ("nbselect", "select4", "try_recv", "nb select x4 / try_recv", 1 / 3),
    ("nbselect", "select4", "select1", "nb select x4 / select x1", 1 / 3),
    ("nbselect", "select4", "queue", "nb select x4 / Queue.get_nowait", None),
    ("nbselect", "try_recv", "queue", "try_recv / Queue.get_nowait", None),
    ("nbselect", "select1", "queue", "nb select x1 / Queue.get_nowait", None),
    ("nbselect", "select4", "pygolang", "nb select x4 / pygolang select x4", None),
    ("fanin", "gochan", "queue", "fan-in: select x4 / queue.Queue(256)", None),
    ("fanin", "janus", "queue", "fan-in: janus(256) / queue.Queue(256)", None),
    ("m2m", "gochan", "queue", "4x4: Chan(16) / queue.Queue(16)", 1.0),
    ("m2m", "janus", "queue", "4x4: janus(16) / queue.Queue(16)", None),
]


# The compiled build's targets (issue 19), by ratio name.
COMPILED_TARGETS = {
    "tput_cap0:gochan/queue": 2.0,
    "tput_cap1:gochan/queue": 3.5,
    "tput_cap256:gochan/queue": 3.5,
    "pingpong:gochan/queue": 1.2,
}

# compiled / pure, paired by repetition, each build's rate divided by queue.Queue's in
# the same run (see _common.cross_build_ratios): (group, variant, target or None).
CROSS: list[tuple[str, str, float | None]] = [
    ("tput_cap0", "gochan", None),
    ("tput_cap1", "gochan", None),
    ("tput_cap16", "gochan", None),
    ("tput_cap256", "gochan", None),
    ("pingpong", "gochan", None),
    ("pingpong", "gochan_cap1", None),
    ("nbselect", "select4", 2.0),
    ("nbselect", "select1", None),
    ("nbselect", "try_recv", None),
    ("fanin", "gochan", None),
    ("m2m", "gochan", None),
]


def compute_ratios(groups: dict[str, Group], build: str = "pure") -> list[dict[str, Any]]:
    out = []
    for gname, num, den, label, pure_target in RATIOS:
        group = groups.get(gname)
        names = {v.name for v in group.variants} if group is not None else set()
        if group is None or num not in names or den not in names:
            continue
        target = pure_target
        if build == "compiled" and f"{gname}:{num}/{den}" in COMPILED_TARGETS:
            target = COMPILED_TARGETS[f"{gname}:{num}/{den}"]
        ratio, per_rep = group.paired_ratio(num, den)
        out.append(
            {
                "name": f"{gname}:{num}/{den}",
                "label": label,
                "group": gname,
                "numerator": num,
                "denominator": den,
                "ratio": ratio,
                "ratio_of_medians": group.variant(num).median / group.variant(den).median,
                "per_rep": per_rep,
                "spread": [min(per_rep), max(per_rep)],
                "target": target,
                "pass": None if target is None else ratio >= target,
            }
        )
    return out


# -- output ----------------------------------------------------------------------------


def fmt_target(target: float | None) -> str:
    if target is None:
        return ""
    return ">= 1/3" if abs(target - 1 / 3) < 1e-9 else f">= {target:g}"


def print_tables(groups: dict[str, Group], ratios: list[dict[str, Any]], reps: int) -> None:
    print(f"\nMedians of {reps} repetition(s), interleaved\n")
    print(f"{'case':<12} {'variant':<36} {'n':>8} {'median':>14}  unit       spread")
    for group in groups.values():
        for v in group.variants:
            lo, hi = min(v.samples), max(v.samples)
            spread = f"{lo:,.0f}..{hi:,.0f}"
            print(
                f"{group.name:<12} {v.label:<36} {group.n:>8} {v.median:>14,.0f}  "
                f"{group.unit:<9}  {spread}"
            )
    print(f"\n{'ratio (median of per-rep ratios)':<44} {'ratio':>7}  {'min..max':>13}  target")
    for r in ratios:
        lo, hi = r["spread"]
        verdict = ""
        if r["target"] is not None:
            verdict = f"{fmt_target(r['target']):<7} {'PASS' if r['pass'] else 'FAIL'}"
        print(f"{r['label']:<44} {r['ratio']:>7.2f}  {lo:>5.2f}..{hi:<6.2f}  {verdict}")


def plot(ratios: dict[str, list[dict[str, Any]]], path: Path, title: str) -> None:
    """One bar per build for each ratio; the compiled build's bar on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    builds = list(ratios)
    labels = [r["label"] for r in ratios[builds[0]]]
    height = 0.8 / len(builds)
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(labels) * len(builds) + 1.8))
    ys = list(range(len(labels)))[::-1]
    for k, build in enumerate(builds):
        by_label = {r["label"]: r for r in ratios[build]}
        for y, label in zip(ys, labels, strict=True):
            r = by_label.get(label)
            if r is None:
                continue
            yy = y + 0.4 - height * (k + 0.5)
            if r["pass"] is None:
                color = "#9aa5b1" if build == "pure" else "#5b6b7b"
            else:
                color = "#2e8b57" if r["pass"] else "#c0392b"
            ax.barh(yy, r["ratio"], height=height * 0.9, color=color,
                    alpha=0.55 if build == "pure" else 1.0)
            lo, hi = r["spread"]
            ax.plot([lo, hi], [yy, yy], color="black", linewidth=0.8)
            if r["target"] is not None:
                ax.plot([r["target"]] * 2, [yy - height / 2, yy + height / 2], color="black",
                        linewidth=2)
            ax.text(max(r["ratio"], hi), yy, f" {r['ratio']:.2f} {build}", va="center",
                    fontsize=7)
    ax.axvline(1.0, color="gray", linestyle="--", linewidth=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("ratio (ops/s, same run; > 1 is faster)   black tick = target; "
                  "faded = pure build")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)


# -- main ------------------------------------------------------------------------------

GROUPS: dict[str, Callable[[int], Group]] = {
    "tput_cap0": lambda n: tput_group(0, n),
    "tput_cap1": lambda n: tput_group(1, n),
    "tput_cap16": lambda n: tput_group(16, n),
    "tput_cap256": lambda n: tput_group(256, n),
    "pingpong": pingpong_group,
    "nbselect": nbselect_group,
    "fanin": fanin_group,
    "m2m": m2m_group,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=None, help="repetitions per variant (default 5)")
    p.add_argument("--scale", type=float, default=None, help="multiply every n (default 1)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, n/20, no warm-up")
    p.add_argument(
        "--only", action="append", choices=sorted(GROUPS), help="run only this case (repeatable)"
    )
    p.add_argument("--out-dir", type=Path, default=RESULTS, help="where the JSON and PNG go")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run N CPU-bound processes beside the benchmark (an oversubscribed machine); "
        "results go to channels-busyN.json/png",
    )
    p.add_argument(
        "--build",
        choices=["both", "compiled", "pure", "loaded"],
        default="both",
        help="gochan build(s) to measure, each in child processes (default both; "
        "loaded: the one this process runs, in-process)",
    )
    p.add_argument("--expect-build", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.scale is None:
        args.scale = 0.05 if args.quick else 1.0
    if args.reps < 1 or args.scale <= 0 or args.busy < 0:
        p.error("--reps must be >= 1, --scale > 0 and --busy >= 0")
    return args


def note_load(info: dict[str, Any]) -> None:
    load = info["load_average_at_start"]
    if load and info["cpus_usable"] and load[0] > 0.5 * info["cpus_usable"]:
        progress(
            f"note: load average {load[0]:.1f} on {info['cpus_usable']} CPUs: something else is "
            "running, expect noisy figures (ratios are paired per repetition to limit this)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build == "loaded":
        return run_loaded(args, argv)
    with busy_processes(args.busy):
        return run_both(args, argv)


def run_loaded(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Every group in this process, on the build it runs (a child of run_both)."""
    build = check_build(args.expect_build)
    names = args.only or list(GROUPS)
    info = machine_info(REPO)
    progress(
        f"channels benchmark ({build['build']} build): reps={args.reps} scale={args.scale} "
        f"on {info['cpu_model']} ({info['cpus_usable']} CPUs), Python {info['python_version']}"
    )
    note_load(info)
    groups: dict[str, Group] = {}
    for name in names:
        n = max(int(BASE_N[name] * args.scale), 8)
        group = GROUPS[name](n)
        try:
            run_interleaved(group, args.reps, warmup=not args.quick)
        except Stuck as exc:
            progress(f"{name}: STUCK ({exc}); aborting")
            return 2
        groups[name] = group

    ratios = compute_ratios(groups, build["build"])
    print_tables(groups, ratios, args.reps)
    targets = [r for r in ratios if r["target"] is not None]
    failed = [r for r in targets if not r["pass"]]
    print(f"\ntargets: {len(targets) - len(failed)}/{len(targets)} PASS")

    data = {
        "benchmark": "channels",
        "command": " ".join(["benchmarks/channels.py", *(argv or sys.argv[1:])]),
        "machine": info,
        "config": {
            "reps": args.reps,
            "scale": args.scale,
            "quick": args.quick,
            "order": "interleaved, rotated each repetition; ratio = median of per-rep ratios",
            "threads": "threading.Thread, started together at a barrier",
            "janus": janus_note(),
            "pygolang": pygolang_note(),
        },
        "build": build,
        "groups": groups_json(groups.values()),
        "ratios": ratios,
        "targets_passed": len(targets) - len(failed),
        "targets_total": len(targets),
    }
    out_json = args.out_dir / "channels.json"
    write_json(out_json, data)
    progress(f"wrote {out_json}")
    if not args.no_plot:
        out_png = args.out_dir / "channels.png"
        plot(
            {build["build"]: ratios},
            out_png,
            f"gochan vs queue.Queue / janus ({info['cpu_model']}, {info['cpus_usable']} CPUs, "
            f"Python {info['python_version']}, median of {args.reps})",
        )
        progress(f"wrote {out_png}")
    return 1 if (args.strict and failed) else 0


def run_both(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Each build in child processes, alternating; the tables side by side."""
    builds = available_builds(args.build)
    info = machine_info(REPO)
    progress(
        f"channels benchmark: builds {', '.join(builds)}, reps={args.reps} scale={args.scale} "
        f"on {info['cpu_model']} ({info['cpus_usable']} CPUs), Python {info['python_version']}"
    )
    note_load(info)
    child_args = ["--scale", str(args.scale), "--no-plot"]
    if args.quick:
        child_args.append("--quick")
    for name in args.only or []:
        child_args += ["--only", name]
    runs = run_build_children(Path(__file__), child_args, builds, args.reps)
    if runs is None:
        return 2
    groups = {b: merged_groups(runs[b]) for b in builds}
    ratios = {b: compute_ratios(groups[b], b) for b in builds}
    build_infos = {b: runs[b][0]["build"] for b in builds}
    for b in builds:
        print(f"\n=== {b} build: {build_infos[b]}")
        print_tables(groups[b], ratios[b], args.reps)
    cross = cross_build_ratios(groups, [(g, v, "queue") for g, v, _ in CROSS])
    cross_targets = {(g, v): t for g, v, t in CROSS}
    for r in cross:
        r["target"] = cross_targets[(r["group"], r["variant"])]
        r["pass"] = None if r["target"] is None else r["ratio"] >= r["target"]
    print_side_by_side(builds, ratios, cross)

    targets = [r for b in builds for r in ratios[b] if r["target"] is not None]
    targets += [r for r in cross if r["target"] is not None]
    failed = [r for r in targets if not r["pass"]]
    print(f"\ntargets: {len(targets) - len(failed)}/{len(targets)} PASS")
    data = {
        "benchmark": "channels",
        "command": " ".join(["benchmarks/channels.py", *(argv or sys.argv[1:])]),
        "machine": info,
        "config": {
            "reps": args.reps,
            "scale": args.scale,
            "quick": args.quick,
            "order": "per repetition one child process per build, builds alternating; within "
            "a child, variants interleaved and rotated; ratio = median of per-rep ratios",
            "threads": "threading.Thread, started together at a barrier",
            "janus": janus_note(),
            "pygolang": pygolang_note(),
            "busy_processes": args.busy,
        },
        "builds": builds_json(builds, runs, groups, ratios),
        "compiled_vs_pure": cross,
        "targets_passed": len(targets) - len(failed),
        "targets_total": len(targets),
    }
    stem = f"channels-busy{args.busy}" if args.busy else "channels"
    out_json = args.out_dir / f"{stem}.json"
    write_json(out_json, data)
    progress(f"wrote {out_json}")
    if not args.no_plot:
        out_png = args.out_dir / f"{stem}.png"
        beside = f", {args.busy} busy processes" if args.busy else ""
        plot(
            {b: ratios[b] for b in reversed(builds)},
            out_png,
            f"gochan (compiled and pure) vs queue.Queue / janus / pygolang\n({info['cpu_model']}, "
            f"{info['cpus_usable']} CPUs{beside}, Python {info['python_version']}, "
            f"median of {args.reps})",
        )
        progress(f"wrote {out_png}")
    return 1 if (args.strict and failed) else 0


def print_side_by_side(
    builds: list[str], ratios: dict[str, list[dict[str, Any]]], cross: list[dict[str, Any]]
) -> None:
    print("\n=== side by side: ratios to the peer in the same run (median of per-rep ratios)\n")
    head = "".join(f"{b:>10}" for b in builds)
    print(f"{'ratio':<44}{head}  target (compiled)")
    labels = [r["label"] for r in ratios[builds[0]]]
    by_build = {b: {r["label"]: r for r in ratios[b]} for b in builds}
    for label in labels:
        cells = ""
        verdict = ""
        for b in builds:
            r = by_build[b].get(label)
            cells += f"{r['ratio']:>10.2f}" if r else f"{'-':>10}"
            if r and b == "compiled" and r["target"] is not None:
                verdict = f"{fmt_target(r['target']):<7} {'PASS' if r['pass'] else 'FAIL'}"
        print(f"{label:<44}{cells}  {verdict}")
    if cross:
        print("\ncompiled / pure (same rep., each / queue.Queue) ratio   min..max   target")
        for r in cross:
            lo, hi = r["spread"]
            verdict = ""
            if r["target"] is not None:
                verdict = f">= {r['target']:g}  {'PASS' if r['pass'] else 'FAIL'}"
            print(f"{r['group'] + ': ' + r['label']:<44} {r['ratio']:>7.2f}  "
                  f"{lo:>4.2f}..{hi:<5.2f}  {verdict}")


if __name__ == "__main__":
    sys.exit(main())
