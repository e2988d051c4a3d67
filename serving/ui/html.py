"""The console's HTML, as small escaped string templates: the page frame, tables and inline SVG charts.

Every value is escaped here (``esc``); charts are drawn server-side as SVG, so a page needs no
script to show its numbers and no asset from outside the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from serving.access import Principal
from serving.analytics.store import Table

__all__ = ["esc", "frame", "table_html", "bar_chart", "line_chart", "graph_svg", "section"]


def esc(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _nav(p: Principal) -> str:
    links = []
    if p.role in ("admin", "lead"):
        links.append(("/ui/programme", "Programme"))
    if p.role in ("admin", "lead", "curator"):
        links.append(("/ui/content", "Content"))
    if p.role == "mentor":
        links.append((f"/ui/mentors/{p.subject}", "My mentees"))
    if p.role == "mentee":
        links.append((f"/ui/mentees/{p.subject}", "My path"))
    links.append(("/ui/models", "Models"))
    return "".join(f'<a href="{esc(h)}">{esc(t)}</a>' for h, t in links)


def frame(title: str, body: str, *, principal: Principal | None, csrf: str = "") -> str:
    """A whole page: header with navigation and sign-out (a POST form with its CSRF token), then ``body``."""
    nav = _nav(principal) if principal is not None else ""
    who = ""
    if principal is not None:
        who = (f'<span class="who">{esc(principal.role)}{":" + esc(principal.subject) if principal.subject else ""}'
               f'</span>')
        if csrf:
            who += (f'<form method="post" action="/ui/logout" class="inline"><input type="hidden" name="csrf" '
                    f'value="{esc(csrf)}"><button type="submit">Sign out</button></form>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · SkillPath console</title><link rel="stylesheet" href="/ui/static/console.css">
<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">
<meta name="csrf-token" content="{esc(csrf)}"></head>
<body><header><a class="brand" href="/ui">SkillPath</a><nav>{nav}</nav><div class="me">{who}</div></header>
<main><h1>{esc(title)}</h1>{body}</main><script src="/ui/static/console.js" defer></script></body></html>"""


def table_html(table: Table, endpoint: str, *, limit: int = 50, caption: str = "") -> str:
    """A table tagged with its endpoint (``data-endpoint``) so a test can compare it with the JSON."""
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in table.rows[:limit])
    more = f'<p class="muted">{len(table.rows) - limit} more rows in the CSV.</p>' if len(table.rows) > limit else ""
    return (f'<div class="table-wrap"><table data-endpoint="{esc(endpoint)}" data-limit="{limit}">'
            f'{f"<caption>{esc(caption)}</caption>" if caption else ""}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{more}"
            f'<p class="links"><a href="{esc(endpoint)}?format=csv" download>CSV</a> · '
            f'<a href="{esc(endpoint)}">JSON</a></p><p class="notes">{esc(table.notes)}</p>')


def section(title: str, inner: str, *, wide: bool = False) -> str:
    return f'<section class="card{" wide" if wide else ""}"><h2>{esc(title)}</h2>{inner}</section>'


def bar_chart(labels: Sequence[Any], values: Sequence[float | int | None], *, title: str, width: int = 560,
              height: int = 200, fmt: str = "{:g}") -> str:
    """Vertical bars with a label under each and the value above it."""
    vals = [0.0 if v is None else float(v) for v in values]
    n, top = max(len(vals), 1), max(vals + [1e-9])
    bw = (width - 20) / n
    bars = []
    for k, (lab, v) in enumerate(zip(labels, vals)):
        h = (height - 50) * v / top
        x, y = 10 + k * bw, height - 30 - h
        bars.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(bw - 4, 1):.1f}" height="{h:.1f}">'
                    f"<title>{esc(lab)}: {esc(fmt.format(v))}</title></rect>")
        if n <= 14:
            bars.append(f'<text x="{x + bw / 2:.1f}" y="{y - 4:.1f}" class="val">{esc(fmt.format(v))}</text>'
                        f'<text x="{x + bw / 2:.1f}" y="{height - 14}" class="lab mid">{esc(str(lab)[:10])}</text>')
    return (f'<svg class="chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
            f'preserveAspectRatio="xMidYMid meet">{"".join(bars)}</svg>')


def line_chart(labels: Sequence[Any], values: Sequence[float | int], *, title: str, width: int = 560,
               height: int = 200) -> str:
    """A line over equally spaced points, the first and last label under the axis."""
    if not values:
        return '<p class="muted">No data yet.</p>'
    top = max(max(values), 1)
    n = len(values)
    pts = " ".join(f"{20 + (width - 40) * k / max(n - 1, 1):.1f},{height - 30 - (height - 50) * v / top:.1f}"
                   for k, v in enumerate(values))
    return (f'<svg class="chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}">'
            f'<polyline points="{pts}" fill="none" class="line"/>'
            f'<text x="20" y="{height - 10}" class="lab" text-anchor="start">{esc(str(labels[0])[:10])}</text>'
            f'<text x="{width - 20}" y="{height - 10}" class="lab" text-anchor="end">{esc(str(labels[-1])[:10])}</text>'
            f'<text x="20" y="14" class="lab" text-anchor="start">max {top:g}</text></svg>')


def graph_svg(nodes: Sequence[tuple[str, str, float, int]], edges: Sequence[tuple[str, str]], *, title: str) -> str:
    """A layered prerequisite graph: ``nodes`` are (id, label, mastery 0-1, layer); prerequisites to the left."""
    if not nodes:
        return '<p class="muted">No path to draw.</p>'
    layers: dict[int, list[str]] = {}
    for nid, _, _, layer in nodes:
        layers.setdefault(layer, []).append(nid)
    bw, bh, gx, gy = 150, 44, 40, 16
    pos = {nid: (10 + layer * (bw + gx), 10 + k * (bh + gy)) for layer, ids in layers.items()
           for k, nid in enumerate(ids)}
    width = 20 + (max(layers) + 1) * (bw + gx)
    height = 20 + max(len(v) for v in layers.values()) * (bh + gy)
    parts = []
    for a, b in edges:
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            parts.append(f'<line x1="{x1 + bw}" y1="{y1 + bh / 2}" x2="{x2}" y2="{y2 + bh / 2}" class="edge"/>')
    for nid, label, m, _ in nodes:
        x, y = pos[nid]
        parts.append(f'<g class="node"><rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="6"/>'
                     f'<rect x="{x}" y="{y + bh - 6}" width="{bw * max(0.0, min(1.0, m)):.1f}" height="6" '
                     f'class="mastery"/><text x="{x + 6}" y="{y + 18}">{esc(label[:20])}</text>'
                     f'<text x="{x + 6}" y="{y + 33}" class="lab">mastery {m:.2f}</text>'
                     f"<title>{esc(label)}: mastery {m:.2f}</title></g>")
    return (f'<svg class="chart graph" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}">'
            f'{"".join(parts)}</svg>')
