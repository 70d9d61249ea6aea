"""A recording as Chrome trace events (the JSON that Perfetto and ``chrome://tracing`` open).

One process (this one, ``pid``), one thread per lane (``tid``: the goroutine's id,
0 for the main thread, above 100000 for other threads). Slices (``ph: X``):

- ``cat: goroutine``: a goroutine's life, from start to exit;
- ``cat: blocked``: a park, named after the operation (``chan send``, ``select``, ...),
  with ``args`` for the channels and their creation sites, the user's line, the outcome
  and who woke it;
- ``cat: wake``: a 1 µs slice on the waker's lane when it woke somebody.

Flow arrows (``ph: s`` / ``f``, ``cat: handoff``) go from the sender to the receiver of
a hand-off (from the closer to the woken for a close, from the waker to the woken for a
WaitGroup or semaphore). ``otherData`` says how many events the ring dropped; when it
dropped some, an instant event at the start of the trace says so too.
"""

from __future__ import annotations

import json
import linecache
import os
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._recorder import Recording

__all__ = ["trace_events"]

_MAIN_TID = 0
_THREAD_TID_BASE = 100_000


def _us(ns: int) -> float:
    return ns / 1000.0


def _source(filename: str, line: int) -> str:
    return linecache.getline(filename, line).strip() if line else ""


def _site_text(site: str | None) -> str:
    if not site:
        return ""
    filename, _, line = site.rpartition(":")
    text = _source(filename, int(line)) if line.isdigit() else ""
    return f"{site}: {text}" if text else site


def trace_events(rec: Recording) -> dict[str, Any]:
    """The Chrome trace-event document (JSON object format) of a stopped recording."""
    pid = os.getpid()
    events = list(rec.events)
    end_ns = rec.stopped_ns if rec.stopped_ns is not None else (events[-1][0] if events else 0)
    begin_ns = events[0][0] if events else rec.started_ns
    if not rec.dropped:
        begin_ns = min(begin_ns, rec.started_ns)

    main_ident = threading.main_thread().ident
    tids: dict[str, int] = {}

    def tid(lane: str) -> int:
        if lane not in tids:
            if lane.startswith("g"):
                tids[lane] = int(lane[1:])
            elif lane == f"t{main_ident}":
                tids[lane] = _MAIN_TID
            else:
                tids[lane] = _THREAD_TID_BASE + len(tids)
        return tids[lane]

    def chan_args(cases: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
        out = []
        for kind, key in cases:
            label, site = rec.objects.get(key, (key, None))
            item = {"kind": kind, "id": key, "label": label}
            if site:
                item["made_at"] = _site_text(site)
            out.append(item)
        return out

    out: list[dict[str, Any]] = []
    flow_id = 0
    by_lane: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for event in events:
        by_lane[event[2]].append(event)
        if event[1] == "create":
            by_lane.setdefault(event[3], [])

    for lane, lane_events in by_lane.items():
        t = tid(lane)
        parked: tuple[Any, ...] | None = None
        started: int | None = None
        seen_start = False
        for event in lane_events:
            ts, kind = event[0], event[1]
            if kind == "start":
                started, seen_start = ts, True
            elif kind == "exit":
                if not seen_start:
                    started, seen_start = begin_ns, True
                out.append(_life(pid, t, rec, lane, started or begin_ns, ts, exited=True))
                started = None
            elif kind == "create":
                out.append({"ph": "i", "s": "t", "name": "go", "cat": "create", "pid": pid,
                            "tid": t, "ts": _us(ts), "args": {
                                "goroutine": rec.lane_names.get(event[3], event[3]),
                                "function": event[4], "created_by": event[5]}})
            elif kind == "park":
                parked = event
            elif kind == "resume":
                op, cases, site, timeout = ("?", (), ("?", 0, "?"), None)
                since = begin_ns
                if parked is not None:
                    _, _, _, op, cases, site, timeout = parked
                    since = parked[0]
                outcome, index, waker, wake_ns = event[3], event[4], event[5], event[6]
                args = _blocked_args(op, chan_args(cases), site, timeout, outcome, index)
                if parked is None:
                    args["note"] = "parked before the first recorded event"
                if waker is not None:
                    args["woken_by"] = rec.lane_names.get(waker, waker)
                out.append({"ph": "X", "cat": "blocked", "name": op, "pid": pid, "tid": t,
                            "ts": _us(since), "dur": _us(max(ts - since, 0)), "args": args})
                if waker is not None and wake_ns is not None:
                    flow_id += 1
                    out.extend(_handoff(pid, flow_id, tid(waker), t, wake_ns, op, cases, index,
                                        outcome, rec))
                parked = None
        if parked is not None:  # still parked when the recording stopped
            _, _, _, op, cases, site, timeout = parked
            args = _blocked_args(op, chan_args(cases), site, timeout, "still blocked", -1)
            out.append({"ph": "X", "cat": "blocked", "name": op, "pid": pid, "tid": t,
                        "ts": _us(parked[0]), "dur": _us(max(end_ns - parked[0], 0)),
                        "args": args})
        if lane.startswith("g") and (started is not None or not seen_start):
            # Alive at the end, or started before the first recorded event.
            out.append(_life(pid, t, rec, lane, started if started is not None else begin_ns,
                             end_ns, exited=False))

    meta: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
         "args": {"name": f"python {Path(sys.argv[0]).name if sys.argv else ''} (pid {pid})"}},
    ]
    for lane, t in tids.items():
        name = rec.lane_names.get(lane, lane)
        meta.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": t,
                     "args": {"name": name}})
        meta.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": t,
                     "args": {"sort_index": t}})
    if rec.dropped:
        meta.append({"ph": "i", "s": "g", "name": f"{rec.dropped} earlier events dropped",
                     "cat": "dropped", "pid": pid, "tid": 0, "ts": _us(begin_ns),
                     "args": {"dropped_events": rec.dropped, "max_events": rec.max_events}})
    doc: dict[str, Any] = {
        "traceEvents": meta + out,
        "displayTimeUnit": "ms",
        "otherData": {
            "producer": "gochan.trace",
            "version": 1,
            "command": _command(),
            "max_events": rec.max_events,
            "recorded_events": rec.recorded,
            "dropped_events": rec.dropped,
            "start_us": _us(begin_ns),
            "end_us": _us(end_ns),
        },
    }
    for path, label in rec.included:
        _merge(doc, path, label)
    return doc


def _command() -> str:
    """The program's command line, ``python -m pkg ...`` for a module run with ``-m``."""
    argv = list(sys.argv)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if argv and spec is not None and spec.name:
        module = spec.name.removesuffix(".__main__")
        argv[0] = f"python -m {module}"
    elif argv:
        argv[0] = f"python {Path(argv[0]).name}" if argv[0] else "python"
    return " ".join(argv)


def _life(pid: int, t: int, rec: Recording, lane: str, start: int, end: int,
          exited: bool) -> dict[str, Any]:
    name = rec.lane_names.get(lane, lane)
    return {"ph": "X", "cat": "goroutine", "name": name, "pid": pid, "tid": t,
            "ts": _us(start), "dur": _us(max(end - start, 0)),
            "args": {"exited": exited}}


def _blocked_args(op: str, chans: list[dict[str, str]], site: tuple[str, int, str],
                  timeout: float | None, outcome: str, index: int) -> dict[str, Any]:
    filename, line, func = site
    args: dict[str, Any] = {
        "op": op,
        "at": f"{filename}:{line} in {func}",
        "source": _source(filename, line),
        "outcome": outcome,
        "channels": chans,
    }
    if timeout is not None:
        args["timeout_s"] = timeout
    if op == "select" and index >= 0 and outcome not in ("timeout", "interrupted",
                                                          "still blocked"):
        args["case"] = index
    return args


def _handoff(pid: int, flow: int, waker_tid: int, woken_tid: int, wake_ns: int, op: str,
             cases: tuple[tuple[str, str], ...], index: int, outcome: str,
             rec: Recording) -> list[dict[str, Any]]:
    """The waker's wake slice and the flow arrow, from sender to receiver."""
    kind, key = cases[index] if 0 <= index < len(cases) else ("", "")
    label = rec.objects.get(key, (key, None))[0] if key else ""
    if outcome == "closed":
        what = "close"
    elif kind == "send":
        what = "took the value"  # the waker received what the parked sender offered
    elif kind == "recv":
        what = "handed a value"
    else:
        what = "released"
    ts = _us(wake_ns)
    name = f"{what} ({label})" if label else what
    wake = {"ph": "X", "cat": "wake", "name": name, "pid": pid, "tid": waker_tid,
            "ts": ts, "dur": 1.0, "args": {"channel": key, "woke_tid": woken_tid}}
    # Value flows from the sender: a parked sender's value goes to the waker.
    src, dst = (woken_tid, waker_tid) if kind == "send" and outcome == "ok" else \
        (waker_tid, woken_tid)
    common = {"cat": "handoff", "name": what, "id": flow, "pid": pid}
    return [wake,
            {"ph": "s", "tid": src, "ts": ts, **common},
            {"ph": "f", "bp": "e", "tid": dst, "ts": ts, **common}]


def _merge(doc: dict[str, Any], path: Path, name: str | None) -> None:
    """Append the events of another process's ``.json`` trace (renaming its process)."""
    try:
        other = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        doc["otherData"].setdefault("include_errors", []).append(f"{path}: {exc}")
        return
    events = other.get("traceEvents", [])
    for event in events:
        if name and event.get("ph") == "M" and event.get("name") == "process_name":
            event["args"] = {"name": name}
    doc["traceEvents"].extend(events)
    data = other.get("otherData", {})
    dropped = data.get("dropped_events", 0)
    doc["otherData"].setdefault("included", []).append(
        {"name": name, "path": str(path), "dropped_events": dropped})
    if dropped:
        doc["otherData"]["dropped_events"] += dropped
    if "start_us" in data:
        doc["otherData"]["start_us"] = min(doc["otherData"]["start_us"], data["start_us"])
        doc["otherData"]["end_us"] = max(doc["otherData"]["end_us"], data["end_us"])
