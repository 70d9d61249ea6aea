"""Drawing a :class:`~gochan._waitgraph.WaitGraph`: Graphviz DOT, and SVG.

SVG comes from our own layered layout by default (the same on every machine, with
``data-*`` attributes on each node and edge: state, kind, highlight), or from
Graphviz's ``dot`` when asked (``engine="dot"``, or ``"auto"``: dot where installed).
Our layout: nodes in columns by their distance from the first waiter along the edges
(the main thread first, then goroutines by id), edges to the next column straight,
the others (back edges closing a cycle) curved. Both mark each node and edge the
same way (``<g class="node">`` / ``<g class="edge">`` with a ``<title>`` of the node
id or ``src->dst``, as Graphviz does), so tools and tests read either.

Colours: threads parked in gochan are boxes, running threads are green boxes, objects
are ellipses; a cycle is red; a dangling wait, and what waits on it down the chain,
orange.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from ._waitgraph import Edge, Node, WaitGraph

__all__ = ["to_dot", "to_svg"]

RED, ORANGE, GREY, GREEN = "#c62828", "#ef6c00", "#555555", "#2e7d32"
_FILL = {"cycle": "#ffebee", "dangling": "#fff3e0", "stuck": "#fff8e1"}
_EDGE = {"cycle": RED, "dangling": ORANGE, "stuck": ORANGE}


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: list[str]) -> str:
    return _dot_id("\n".join(lines)).replace("\n", "\\n")


def _lines(node: Node) -> list[str]:
    return [node.label, *node.detail.splitlines()]


def to_dot(graph: WaitGraph) -> str:
    """Graphviz DOT for ``graph`` (left to right; cycle red, dangling orange)."""
    out = [
        "digraph waitfor {",
        f"  label={_dot_id(graph.title)}; labelloc=t; rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes.values():
        attrs = [f"label={_dot_label(_lines(node))}"]
        if node.kind == "object":
            attrs.append("shape=ellipse")
        else:
            attrs.append('shape=box, style="rounded,filled"')
        color = _EDGE.get(node.highlight)
        fill = _FILL.get(node.highlight) or ("#e8f5e9" if node.state == "running" else "#ffffff")
        if node.kind == "object":
            attrs.append('style="filled"')
        attrs.append(f'fillcolor="{fill}"')
        if color:
            attrs.append(f'color="{color}", penwidth=2')
        out.append(f"  {_dot_id(node.id)} [{', '.join(attrs)}];")
    for edge in graph.edges:
        attrs = [f"label={_dot_id(edge.label)}"]
        if edge.kind == "unblocks":
            attrs.append("style=dashed")
        color = _EDGE.get(edge.highlight)
        if color:
            attrs.append(f'color="{color}", fontcolor="{color}", penwidth=2')
        out.append(f"  {_dot_id(edge.src)} -> {_dot_id(edge.dst)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(graph: WaitGraph, engine: str = "builtin") -> str:
    """SVG for ``graph``: ``engine`` is ``builtin`` (ours), ``dot`` or ``auto`` (dot if
    installed, else ours).

    Raises:
        ValueError: an unknown engine.
        FileNotFoundError: ``engine="dot"`` and Graphviz is not installed.
    """
    if engine not in ("auto", "dot", "builtin"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'builtin', not {engine!r}")
    dot = shutil.which("dot") if engine != "builtin" else None
    if engine == "dot" and dot is None:
        raise FileNotFoundError("Graphviz's dot is not on PATH (apt-get install graphviz)")
    if dot is not None:
        proc = subprocess.run([dot, "-Tsvg"], input=to_dot(graph), capture_output=True,
                              text=True, timeout=30, check=True)
        return proc.stdout
    return _builtin_svg(graph)


# -- our own layout ----------------------------------------------------------------------

_CHAR_W, _LINE_H, _PAD, _COL_GAP, _ROW_GAP, _MARGIN = 6.6, 14, 8, 70, 26, 20
_MAX_WIDTH = 1300  # wider layouts wrap into bands


def _size(node: Node) -> tuple[float, float]:
    lines = _lines(node)
    width = max(len(line) for line in lines) * _CHAR_W + 2 * _PAD
    if node.kind == "object":
        width += 20
    return width, len(lines) * _LINE_H + 2 * _PAD


def _order(graph: WaitGraph) -> list[str]:
    def key(node_id: str) -> tuple[int, int, str]:
        if node_id == "main":
            return (0, 0, node_id)
        if node_id.startswith("g") and node_id[1:].isdigit():
            return (1, int(node_id[1:]), node_id)
        return (2, 0, node_id)

    threads = [n.id for n in graph.nodes.values() if n.kind == "thread"]
    return sorted(threads, key=key) + [n for n in graph.nodes if n not in threads]


def _ranks(graph: WaitGraph) -> dict[str, int]:
    """Column of each node: depth in a depth-first walk from the first waiters."""
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    has_in = set()
    for edge in graph.edges:
        succ[edge.src].append(edge.dst)
        has_in.add(edge.dst)
    rank: dict[str, int] = {}
    order = _order(graph)
    roots = [n for n in order if n not in has_in] + order  # sources first, then the rest

    def walk(v: str, depth: int) -> None:
        stack = [(v, depth)]
        while stack:
            node, d = stack.pop()
            if node in rank:
                continue
            rank[node] = d
            for w in reversed(succ[node]):
                if w not in rank:
                    stack.append((w, d + 1))

    for root in roots:
        if root not in rank:
            walk(root, 0)
    return rank


def _builtin_svg(graph: WaitGraph) -> str:
    ranks = _ranks(graph)
    columns: dict[int, list[str]] = {}
    for node_id in _order(graph):
        columns.setdefault(ranks[node_id], []).append(node_id)
    sizes = {n: _size(node) for n, node in graph.nodes.items()}
    # Each gap is wide enough for the labels of the edges that cross it.
    gaps: dict[int, float] = {}
    for edge in graph.edges:
        r = ranks[edge.src]
        if ranks[edge.dst] == r + 1:
            gaps[r] = max(gaps.get(r, _COL_GAP), len(edge.label) * 5.6 + 30)
    pos: dict[str, tuple[float, float]] = {}  # centre of each node
    x: float = _MARGIN
    top: float = _MARGIN + 30  # under the title
    band_bottom = top
    band = 0
    bands: dict[str, int] = {}
    bottoms: dict[int, float] = {}  # band -> the lowest node edge in it
    total_w = 0.0
    for col in sorted(columns):
        width = max(sizes[n][0] for n in columns[col])
        if x > _MARGIN and x + width > _MAX_WIDTH:
            # Too wide: carry on in a new band under this one (room for looping edges).
            x, top = _MARGIN, band_bottom + 70
            band += 1
        y = top
        for node_id in columns[col]:
            h = sizes[node_id][1]
            pos[node_id] = (x + width / 2, y + h / 2)
            bands[node_id] = band
            bottoms[band] = max(bottoms.get(band, 0.0), y + h)
            y += h + _ROW_GAP
        band_bottom = max(band_bottom, y)
        total_w = max(total_w, x + width + _MARGIN)
        x += width + gaps.get(col, _COL_GAP)
    total_h = band_bottom + _MARGIN + 60  # room for back edges looping under the columns
    total_w = max(total_w, 780)  # the legend's width
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="Helvetica, Arial, sans-serif">',
        "<defs>",
    ]
    for name, color in (("normal", GREY), ("cycle", RED), ("dangling", ORANGE),
                        ("stuck", ORANGE)):
        out.append(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
                   f'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
                   f'orient="auto-start-reverse">'
                   f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    out.append("</defs>")
    out.append('<rect width="100%" height="100%" fill="white"/>')
    out.append(f'<text x="{_MARGIN}" y="{_MARGIN + 12}" font-size="14" font-weight="bold">'
               f"{escape(graph.title)}</text>")
    for i, edge in enumerate(graph.edges):
        out.append(_svg_edge(edge, i, pos, sizes, bands, bottoms))
    for node_id, node in graph.nodes.items():
        out.append(_svg_node(node, pos[node_id], sizes[node_id]))
    legend_y = total_h - 14
    out.append(f'<text x="{_MARGIN}" y="{legend_y:.0f}" font-size="10" fill="#444">'
               "solid: waits on · dashed: could unblock (its stack can reach the object) · "
               '<tspan fill="#c62828">red: cycle (deadlock)</tspan> · '
               '<tspan fill="#ef6c00">orange: nobody can unblock it (or what it waits on)'
               '</tspan></text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_node(node: Node, centre: tuple[float, float], size: tuple[float, float]) -> str:
    cx, cy = centre
    w, h = size
    stroke = _EDGE.get(node.highlight, GREY)
    width = 2.5 if node.highlight else 1
    fill = _FILL.get(node.highlight) or ("#e8f5e9" if node.state == "running" else
                                         "#f3f3f3" if node.kind == "timer" else "#ffffff")
    attrs = (f'class="node" id="node-{escape(node.id)}" data-kind="{node.kind}" '
             f'data-state="{escape(node.state)}" data-highlight="{node.highlight}"')
    parts = [f"<g {attrs}>", f"<title>{escape(node.id)}</title>"]
    if node.kind == "object":
        parts.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
    else:
        parts.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                     f'height="{h:.1f}" rx="6" fill="{fill}" stroke="{stroke}" '
                     f'stroke-width="{width}"/>')
    lines = _lines(node)
    top = cy - (len(lines) * _LINE_H) / 2 + 11
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        font = 12 if i == 0 else 10
        parts.append(f'<text x="{cx:.1f}" y="{top + i * _LINE_H:.1f}" text-anchor="middle" '
                     f'font-size="{font}"{weight}>{escape(line)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _border(centre: tuple[float, float], size: tuple[float, float], toward: tuple[float, float],
            ellipse: bool) -> tuple[float, float]:
    """Where the line from ``centre`` toward ``toward`` leaves the node's outline."""
    cx, cy = centre
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return centre
    w, h = size[0] / 2, size[1] / 2
    if ellipse:
        t = 1 / ((dx / w) ** 2 + (dy / h) ** 2) ** 0.5
    else:
        t = min(w / abs(dx) if dx else float("inf"), h / abs(dy) if dy else float("inf"))
    return cx + dx * t, cy + dy * t


def _svg_edge(edge: Edge, i: int, pos: dict[str, tuple[float, float]],
              sizes: dict[str, tuple[float, float]], bands: dict[str, int],
              bottoms: dict[int, float]) -> str:
    color = _EDGE.get(edge.highlight, GREY)
    marker = edge.highlight or "normal"
    dash = ' stroke-dasharray="6 4"' if edge.kind == "unblocks" else ""
    width = 2.2 if edge.highlight else 1.2
    src, dst = pos[edge.src], pos[edge.dst]
    from_ellipse = edge.kind == "unblocks"  # objects are ellipses
    sh, dh = sizes[edge.src][1], sizes[edge.dst][1]
    same_band = bands[edge.src] == bands[edge.dst]
    if same_band and dst[0] > src[0]:
        # Next column to the right in the same row: a straight line.
        a = _border(src, sizes[edge.src], dst, from_ellipse)
        b = _border(dst, sizes[edge.dst], src, not from_ellipse)
        d = f"M{a[0]:.1f},{a[1]:.1f} L{b[0]:.1f},{b[1]:.1f}"
        lx, ly = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2 - 5
    elif not same_band:
        # Another row: leave from the side facing it, enter from the side facing us.
        down = dst[1] > src[1]
        a = (src[0], src[1] + (sh if down else -sh) / 2)
        b = (dst[0], dst[1] - (dh if down else -dh) / 2)
        bend = 50 if down else -50
        d = (f"M{a[0]:.1f},{a[1]:.1f} C{a[0]:.1f},{a[1] + bend:.1f} {b[0]:.1f},"
             f"{b[1] - bend:.1f} {b[0]:.1f},{b[1]:.1f}")
        lx, ly = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2 - 4
    else:
        # Back along the same row: loop under it.
        a = (src[0], src[1] + sh / 2)
        b = (dst[0], dst[1] + dh / 2)
        low = bottoms[bands[edge.src]] + 22 + 10 * (i % 3)
        d = (f"M{a[0]:.1f},{a[1]:.1f} C{a[0]:.1f},{low:.1f} {b[0]:.1f},{low:.1f} "
             f"{b[0]:.1f},{b[1]:.1f}")
        lx, ly = (a[0] + b[0]) / 2, low - 4
    label = escape(edge.label)
    return (f'<g class="edge" id="edge-{i}" data-kind="{edge.kind}" '
            f'data-src="{escape(edge.src)}" data-dst="{escape(edge.dst)}" '
            f'data-highlight="{edge.highlight}"><title>{escape(edge.src)}-&gt;'
            f'{escape(edge.dst)}</title>'
            f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{dash} '
            f'marker-end="url(#arrow-{marker})"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{color}">{label}</text></g>')
