"""Cost of gochan's diagnostics on the channel hot paths: on (the default) vs off.

"on" is the default: deadlock detection and 5 s stall warnings, i.e. the park hook
plus the watchdog thread waking while something is parked. "off" is
``set_deadlock_detection(False)`` + ``set_stall_warning(None)``, which removes the
park hook, so no watchdog ever starts. Runs are interleaved (on, off, on, off, ...);
each figure is the median of ``--reps`` runs, for wall time and for the process's
CPU time (all threads, the watchdog's included; steadier on a loaded machine), and
``ratio`` is the median of the per-pair on/off ratios.

    .venv/bin/python benchmarks/diagnostics_overhead.py [--reps 5] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import gochan
from gochan import Chan, go

Timing = tuple[float, float]  # (wall seconds, CPU seconds of the whole process)


def _now() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _now()
    return wall - start[0], cpu - start[1]


def one_to_one(cap: int, n: int) -> Timing:
    """Time for one sender goroutine to pass ``n`` ints to the main thread."""
    ch: Chan[int | None] = Chan(cap)

    def sender() -> None:
        for i in range(n):
            ch.send(i)
        ch.close()

    start = _now()
    g = go(sender)
    for _ in ch:
        pass
    g.join()
    return _since(start)


def ping_pong(n: int) -> Timing:
    """Time for ``n`` round trips between two threads over two unbuffered channels."""
    ping: Chan[int] = Chan()
    pong: Chan[int] = Chan()

    def echo() -> None:
        for _ in range(n):
            pong.send(ping.recv())  # type: ignore[arg-type]

    start = _now()
    g = go(echo)
    for i in range(n):
        ping.send(i)
        pong.recv()
    g.join()
    return _since(start)


def set_diagnostics(on: bool) -> None:
    gochan.set_deadlock_detection(on)
    gochan.set_stall_warning(5.0 if on else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply message counts")
    args = parser.parse_args()
    k = args.scale
    cases: dict[str, tuple[int, Callable[[], Timing]]] = {
        "1->1 Chan(0)": (int(20_000 * k), lambda: one_to_one(0, int(20_000 * k))),
        "1->1 Chan(256)": (int(200_000 * k), lambda: one_to_one(256, int(200_000 * k))),
        "ping-pong": (int(10_000 * k), lambda: ping_pong(int(10_000 * k))),
    }
    print(f"python {sys.version.split()[0]}, medians of {args.reps} interleaved runs (us/op)")
    head = f"{'on':>8} {'off':>8} {'ratio':>6}  "
    print(f"{'case':<16} wall {head} cpu {head}")
    for name, (n, run) in cases.items():
        times: dict[bool, list[Timing]] = {True: [], False: []}
        run()  # warm-up
        for _ in range(args.reps):
            for on in (True, False):
                set_diagnostics(on)
                times[on].append(run())
        set_diagnostics(True)
        row = f"{name:<16}"
        for k, label in ((0, "wall"), (1, "cpu")):
            on_t = [t[k] for t in times[True]]
            off_t = [t[k] for t in times[False]]
            ratio = statistics.median(a / b for a, b in zip(on_t, off_t, strict=True))
            on_us, off_us = (statistics.median(t) / n * 1e6 for t in (on_t, off_t))
            row += f" {' ' * len(label)} {on_us:>8.2f} {off_us:>8.2f} {ratio:>6.3f}  "
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
