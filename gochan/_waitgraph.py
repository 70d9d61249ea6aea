"""The wait-for graph: who waits on which channel, and who could unblock it.

Nodes are threads (goroutines, the main thread, other threads), the objects they wait
on (channels, ``WaitGroup``, ``Weighted``) and pending gochan timers. Edges:

- ``waits``: a thread parked in gochan -> each object its operation waits on;
- ``unblocks``: an object -> each thread (or timer) that could complete the wait: one
  whose stack holds the object. A frame holds an object if one of its variables is
  the object or leads to it through the names its code uses (``self._input``, or an
  accessor such as ``p.input()``), or if it holds a function that does (a closure, a
  bound method, a cancel func: its code counts, one method call deeper). Methods the
  frame's code merely calls are not followed (``p.close()`` would drain
  ``successes()`` one day; nobody reads it now). Threads parked on the object itself
  do not count: they are waiting, not helping.

This is a heuristic, and the picture says so: holding an object is what it takes to
unblock a wait, not a promise that the thread will. A thread parked in gochan can go
on if any object it waits on can be unblocked (a ``select`` needs one ready case);
an object can if any of its helpers can; running threads and pending timers can.
What is left is stuck: a cycle among it is a deadlock (each waits for the next, red);
an object with waiters and nobody to unblock it is a dangling wait (``nilchan``, a
channel only its own waiter knows, a ``successes()`` nobody reads), orange with
everything waiting on it down the chain.

``WaitGraph.to_dot()`` gives Graphviz DOT; ``to_svg()`` lays the graph out with our
own small layered layout (``_graphsvg.py``), or with Graphviz's ``dot`` when asked.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ._chan import Chan, _NilChan, nilchan
from ._dump import _internal, infrastructure_idents
from ._goroutine import Goroutine, _live
from ._registry import Blocked, blocked_snapshot

__all__ = ["Edge", "Node", "WaitGraph", "build", "wait_graph"]

_nil: Any = nilchan
MAX_CONTAINER = 64  # lists, tuples, dicts and sets longer than this are not searched
MAX_WORK = 20_000  # objects one thread's search looks at, at most


@dataclass
class Node:
    """A thread, an object waited on, or a pending timer.

    ``kind``: ``thread``, ``object`` or ``timer``. ``state`` for threads: the op it is
    parked in (``chan send``, ...) or ``running``. ``highlight``: ``cycle``,
    ``dangling`` or ``""``.
    """

    id: str
    kind: str
    label: str
    detail: str = ""
    state: str = ""
    highlight: str = ""


@dataclass
class Edge:
    """``waits`` (thread -> object) or ``unblocks`` (object -> thread or timer)."""

    src: str
    dst: str
    kind: str
    label: str
    highlight: str = ""


@dataclass
class WaitGraph:
    """Who waits on what, and who could unblock it; cycles and dangling waits marked."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    title: str = "wait-for graph"

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language."""
        from ._graphsvg import to_dot

        return to_dot(self)

    def to_svg(self, engine: str = "builtin") -> str:
        """The graph as SVG: ``engine`` ``"builtin"`` (ours, the default), ``"dot"``
        (Graphviz), or ``"auto"`` (Graphviz where installed, else ours)."""
        from ._graphsvg import to_svg

        return to_svg(self, engine)

    def write(self, path: str | os.PathLike[str], engine: str = "builtin") -> Path:
        """Write ``.svg`` or ``.dot`` (``.gv``), picked by the extension; returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            text = self.to_svg(engine)
        elif suffix in (".dot", ".gv"):
            text = self.to_dot()
        else:
            raise ValueError(f"wait graph file {str(path)!r}: the extension must be .svg, "
                             ".dot or .gv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def __str__(self) -> str:
        lines = [self.title]
        for edge in self.edges:
            mark = f"  [{edge.highlight}]" if edge.highlight else ""
            src, dst = self.nodes[edge.src].label, self.nodes[edge.dst].label
            lines.append(f"  {src} --{edge.label}--> {dst}{mark}")
        return "\n".join(lines)


# -- reachability: can code on this stack get to the object? -------------------------------


def _code_names(code: types.CodeType) -> set[str]:
    """Names a code object uses for attributes and globals, nested functions included.

    One set per code object (cached), so a search can tell scopes apart by identity."""
    names = _names_cache.get(code)
    if names is None:
        names = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _code_names(const)
        if len(_names_cache) > 4096:
            _names_cache.clear()
        _names_cache[code] = names
    return names


_names_cache: dict[types.CodeType, set[str]] = {}


def _static_attr(obj: Any, name: str) -> Any:
    """``obj.name`` without running user code (instance dict and slots only), or a miss."""
    try:
        d = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        d = None
    if type(d) is dict and name in d:
        return d[name]
    for klass in type(obj).__mro__:
        attr = klass.__dict__.get(name, _MISS)
        if attr is _MISS:
            continue
        if isinstance(attr, types.MemberDescriptorType):
            try:
                return attr.__get__(obj, type(obj))
            except AttributeError:
                return _MISS
        if isinstance(attr, types.FunctionType):
            return types.MethodType(attr, obj)
        return _MISS
    return _MISS


_MISS: Any = object()


def _accessor(func: types.FunctionType) -> bool:
    """Whether ``func`` is a getter: ``def input(self): return self._input`` and the like."""
    code = func.__code__
    return (code.co_argcount == 1 and len(code.co_names) <= 2 and len(code.co_code) <= 64
            and not any(isinstance(c, types.CodeType) for c in code.co_consts))
_SCALARS = (str, bytes, int, float, bool, type(None), type, types.ModuleType)


class _Finder:
    """Searches from one thread's frames for the objects in ``targets``."""

    def __init__(self, targets: dict[int, str]) -> None:
        self.targets = targets
        self.found: dict[str, str] = {}  # target key -> path (the shortest seen)
        # (id of object, id of the names in scope) -> the largest budget it was searched with
        self._seen: dict[tuple[int, int], int] = {}
        self._work = MAX_WORK  # objects looked at, at most

    def search(self, obj: Any, path: str, names: set[str], calls: int, hops: int) -> None:
        key = self.targets.get(id(obj))
        if key is not None:
            known = self.found.get(key)
            if known is None or len(path) < len(known):
                self.found[key] = path
            return
        if hops <= 0 or isinstance(obj, _SCALARS) or self._work <= 0:
            return
        self._work -= 1
        budget = calls * 16 + hops
        seen = (id(obj), id(names))
        if self._seen.get(seen, -1) >= budget:
            return
        self._seen[seen] = budget
        # A function held in a variable (a closure, a bound method, a cancel func) is a
        # capability the thread holds: what its code names counts, one call further.
        if isinstance(obj, types.MethodType):
            self.search(obj.__self__, path, names, calls, hops)
            if isinstance(obj.__func__, types.FunctionType):
                self._function(obj.__func__, path, 1, receiver=obj.__self__)
            return
        if isinstance(obj, types.FunctionType):
            self._function(obj, path, 1)
            return
        if isinstance(obj, types.BuiltinMethodType | types.MethodWrapperType):
            # A compiled (mypyc) or C method bound to its object: ch.try_recv.
            receiver = getattr(obj, "__self__", None)
            if receiver is not None and not isinstance(receiver, types.ModuleType):
                self.search(receiver, path, names, calls, hops)
            return
        if isinstance(obj, functools.partial):
            self.search(obj.func, path, names, calls, hops - 1)
            for arg in (*obj.args, *obj.keywords.values()):
                self.search(arg, path, names, calls, hops - 1)
            return
        if isinstance(obj, list | tuple | set | frozenset):
            if len(obj) <= MAX_CONTAINER:
                for i, item in enumerate(list(obj)):
                    self.search(item, f"{path}[{i}]", names, calls, hops - 1)
            return
        if isinstance(obj, dict):
            if len(obj) <= MAX_CONTAINER:
                for k, item in list(obj.items()):
                    self.search(item, f"{path}[{k!r}]", names, calls, hops - 1)
            return
        for name in names:
            attr = _static_attr(obj, name)
            if attr is _MISS:
                continue
            if isinstance(attr, types.MethodType) and attr.__self__ is obj:
                # A method the code calls: an accessor (``p.input()``) is as good as the
                # attribute it returns; another method only from inside a held function.
                func = attr.__func__
                if not isinstance(func, types.FunctionType):
                    continue
                if _accessor(func):
                    self._function(func, f"{path}.{name}()", calls, receiver=obj)
                elif calls > 0:
                    self._function(func, f"{path}.{name}()", calls - 1, receiver=obj)
                continue
            self.search(attr, f"{path}.{name}", names, calls, hops - 1)

    def _function(self, func: types.FunctionType, path: str, calls: int,
                  receiver: Any = _MISS) -> None:
        code = func.__code__
        names = _code_names(code)
        if receiver is not _MISS:
            self.search(receiver, path, names, calls, 2)
        for var, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            self.search(value, f"{path}<{var}>", names, calls, 2)
        glob = func.__globals__
        for name in names:
            value = glob.get(name, _MISS)
            if value is not _MISS and not isinstance(value, (*_SCALARS, types.FunctionType)):
                self.search(value, name, names, calls, 2)

    def frame(self, frame: FrameType) -> None:
        code = frame.f_code
        names = _code_names(code)
        try:
            local_vars = dict(frame.f_locals)
        except Exception:  # a frame being torn down
            return
        for var, value in local_vars.items():
            self.search(value, var, names, 0, 2)
        glob = frame.f_globals
        if glob is not local_vars:
            for name in names:
                value = glob.get(name, _MISS)
                if value is not _MISS and not isinstance(value, _SCALARS):
                    self.search(value, name, names, 0, 2)


def _user_stack(frame: FrameType | None, limit: int = 12) -> list[FrameType]:
    frames: list[FrameType] = []
    while frame is not None and len(frames) < limit:
        if not _internal(frame):
            frames.append(frame)
        frame = frame.f_back
    return frames


# -- building ---------------------------------------------------------------------------------


def _short(path: str) -> str:
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 1 else path


def _site(frame: FrameType | None) -> str:
    for f in _user_stack(frame, 1):
        return f"{_short(f.f_code.co_filename)}:{f.f_lineno} in {f.f_code.co_name}"
    return "?"


def _thread_id(ident: int, goroutine: Goroutine | None, main_ident: int | None) -> str:
    if goroutine is not None:
        return f"g{goroutine.id}"
    return "main" if ident == main_ident else f"t{ident}"


def _thread_label(name: str, goroutine: Goroutine | None) -> str:
    if goroutine is not None:
        func = goroutine.func_name.rsplit(".", 1)[-1]
        return f"goroutine {goroutine.id} {func}"
    return name


def _object_key(obj: Any) -> str:
    if isinstance(obj, _NilChan):
        return "nil"
    if isinstance(obj, Chan):
        return f"c{obj._seq}"
    return f"o{id(obj)}"


def _object_detail(obj: Any) -> str:
    if isinstance(obj, _NilChan):
        return "nilchan: never ready"
    if isinstance(obj, Chan):
        state = " closed" if obj._closed else ""
        return f"Chan({obj._cap}) len {len(obj._buf)}{state}\nmade at {_short(obj._site)}"
    return repr(obj)


def _name_from(path: str) -> str:
    """``self._window`` -> ``window``; ``p.successes()<x>`` -> ``x``; ``jobs`` -> ``jobs``."""
    tail = path
    for sep in (".", "<", ">", "(", ")", "["):
        tail = tail.replace(sep, " ")
    words = [w for w in tail.split() if w not in ("self",)]
    return words[-1].lstrip("_") if words else path


def _attr_names(paths: list[str]) -> set[str]:
    """The names of ``paths`` that end in an attribute (``self._window`` -> ``window``)."""
    return {_name_from(p) for p in paths if "." in p}


def _pending_timers() -> list[tuple[str, Any, float]]:
    """``(node id, timer, seconds left)`` for each gochan timer still due to fire."""
    from ._timer import _scheduler

    now = time.monotonic()
    out = []
    with _scheduler._cond:
        heap = list(_scheduler._heap)
    for when, seq, gen, timer in heap:
        if gen == timer._gen:
            out.append((f"timer{seq}", timer, max(when - now, 0.0)))
    return out


def build(records: Iterable[Blocked], *, title: str = "wait-for graph",
          frames: dict[int, FrameType] | None = None,
          exclude: Iterable[int] = ()) -> WaitGraph:
    """The graph of ``records`` (the parked operations), with every live thread as a
    possible unblocker. ``frames`` defaults to ``sys._current_frames()``; threads in
    ``exclude`` (and gochan's own) are left out."""
    records = list(records)
    frames = sys._current_frames() if frames is None else frames
    skip = set(exclude) | infrastructure_idents()
    main_ident = threading.main_thread().ident
    names = {t.ident: t.name for t in threading.enumerate()}
    graph = WaitGraph(title=title)
    now = time.monotonic()

    # What is waited on, and by whom.
    targets: dict[int, str] = {}
    objects: dict[str, Any] = {}
    waiters: dict[str, set[str]] = {}
    by_thread: dict[int, str] = {}
    for record in records:
        g = _live.get(record.ident)
        tid = _thread_id(record.ident, g, main_ident)
        by_thread[record.ident] = tid
        name = names.get(record.ident, record.thread_name)
        graph.nodes[tid] = Node(tid, "thread", _thread_label(name, g),
                                detail=f"[{record.op}, {now - record.since:.1f}s]\n"
                                       f"at {_site(record.frame)}",
                                state=record.op)
        cases = record.cases
        if not cases:  # a nil-channel op, or a select with only nil cases (or none)
            cases = (("send" if "send" in record.op else "recv", _nil),)
        for kind, obj in cases:
            key = _object_key(obj)
            objects[key] = obj
            if key != "nil":
                targets[id(obj)] = key
            waiters.setdefault(key, set()).add(tid)
            graph.edges.append(Edge(tid, key, "waits", kind))

    # Who can get to each object.
    names_seen: dict[str, list[str]] = {}
    helpers: dict[str, dict[str, str]] = {}  # object key -> holder id -> path
    idents = {t.ident for t in threading.enumerate() if t.ident is not None}
    idents |= set(frames)
    for ident in idents:
        if ident in skip:
            continue
        parked = next((r for r in records if r.ident == ident), None)
        frame = parked.frame if parked is not None else frames.get(ident)
        finder = _Finder(targets)
        for f in _user_stack(frame):
            finder.frame(f)
        if not finder.found:
            continue
        g = _live.get(ident)
        tid = by_thread.get(ident) or _thread_id(ident, g, main_ident)
        for key, path in finder.found.items():
            names_seen.setdefault(key, []).append(path)
            if tid in waiters.get(key, ()):
                continue
            helpers.setdefault(key, {})[tid] = path
            if tid not in graph.nodes:
                graph.nodes[tid] = Node(tid, "thread", _thread_label(names.get(ident, "?"), g),
                                        detail=f"[running]\nat {_site(frame)}",
                                        state="running")
    for timer_id, timer, left in _pending_timers():
        finder = _Finder(targets)
        finder.search(timer, "timer", set(vars(timer)), 1, 3)
        for key in finder.found:
            helpers.setdefault(key, {})[timer_id] = "fires"
            graph.nodes[timer_id] = Node(timer_id, "timer", "gochan timer",
                                         detail=f"fires in {left:.2f}s", state="pending")

    for key, obj in objects.items():
        seen = names_seen.get(key, [])
        # Its name: an attribute's (``p._input``) before a local alias (``raw``), shortest.
        label = min((_name_from(p) for p in seen), key=lambda n: (n not in _attr_names(seen),
                                                                   len(n))) if seen else (
            "nilchan" if key == "nil" else type(obj).__name__)
        graph.nodes[key] = Node(key, "object", label, detail=_object_detail(obj))
        verb = _could(obj, key, graph)
        for holder, path in sorted(helpers.get(key, {}).items()):
            via = "" if path in ("fires", graph.nodes[key].label) else f" ({path})"
            label = "fires" if path == "fires" else f"could {verb}{via}"
            graph.edges.append(Edge(key, holder, "unblocks", label))
    _highlight(graph, waiters)
    return graph


def _could(obj: Any, key: str, graph: WaitGraph) -> str:
    """What a helper would do to unblock the waiters on ``obj``."""
    if not isinstance(obj, Chan):
        return "done()" if type(obj).__name__ == "WaitGroup" else "release"
    kinds = {e.label for e in graph.edges if e.kind == "waits" and e.dst == key}
    if kinds == {"send"}:
        return "receive"
    if kinds == {"recv"}:
        return "send/close"
    return "send/receive"


def _highlight(graph: WaitGraph, waiters: dict[str, set[str]]) -> None:
    """Mark what is stuck: cycles red (``cycle``), the rest orange (``dangling`` for
    objects nobody can unblock and their waiters, ``stuck`` down the chain).

    A parked thread can still go on if any object it waits on can be unblocked (a
    ``select`` needs one ready case), an object if any of its helpers can go on;
    running threads and pending timers can. What is left once that settles is stuck.
    """
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        succ[edge.src].append(edge.dst)
    live = {n.id for n in graph.nodes.values() if n.state in ("running", "pending")}
    changed = True
    while changed:
        changed = False
        for node in graph.nodes.values():
            if node.id not in live and any(w in live for w in succ[node.id]):
                live.add(node.id)
                changed = True
    stuck = set(graph.nodes) - live
    in_cycle: dict[str, int] = {}
    for number, component in enumerate(_cycles(stuck, succ)):
        graph.cycles.append(component)
        for node_id in component:
            in_cycle[node_id] = number
    for key in waiters:
        if key in stuck and not succ[key] and key not in in_cycle:
            graph.dangling.append(key)
    for node_id in stuck:
        node = graph.nodes[node_id]
        if node_id in in_cycle:
            node.highlight = "cycle"
        elif node_id in graph.dangling or any(w in graph.dangling for w in succ[node_id]):
            node.highlight = "dangling"
        else:
            node.highlight = "stuck"
    for edge in graph.edges:
        if edge.src in in_cycle and in_cycle.get(edge.dst) == in_cycle[edge.src]:
            edge.highlight = "cycle"
        elif edge.src in stuck and edge.dst in stuck:
            edge.highlight = "dangling" if edge.dst in graph.dangling else "stuck"


def _cycles(nodes: set[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components (of two or more) among ``nodes`` (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:  # recursive: the graphs are small
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in nodes:
                continue
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component[::-1])

    for v in sorted(nodes):
        if v not in index:
            strongconnect(v)
    return components


def wait_graph() -> WaitGraph:
    """The wait-for graph of the program now: every thread parked in gochan, what it waits
    on, and who could unblock it (``gochan.dump()``'s picture). The calling thread counts
    as running."""
    return build(blocked_snapshot(), title="gochan wait-for graph",
                 exclude=())
