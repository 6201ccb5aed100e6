"""A what-if's chart as inline SVG (no script, nothing from a CDN): one dot per point,
coloured by its state (written in each dot's title too), the limit as a dashed line.

Shared by the admin's baseline and service Backtest pages.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, PAD = 760, 220, 36
COLOURS = {
    "ok": "#1a7f37",
    "healthy": "#1a7f37",
    "breach": "#cf222e",
    "breached": "#cf222e",
    "no_data": "#bc4c00",
    "error": "#8250df",
}
GREY = "#57606a"


def _when(point: dict) -> str:
    return point["at"][:16].replace("T", " ")


def svg(points: list[dict], *, key: str, state: str, limit: float, unit: str, label: str) -> str:
    """``points[i][key]`` (None: drawn at the bottom, "no data") against ``limit``."""
    if not points:
        return ""
    values = [p[key] for p in points]
    known = [v for v in values if v is not None]
    top = max([*known, limit, 0]) * 1.1 or 1
    bottom = min([*known, 0])
    span = (top - bottom) or 1
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def y(v):
        return PAD + (top - (bottom if v is None else v)) / span * (HEIGHT - 2 * PAD)

    def dot(i, p):
        shown = "no data" if p[key] is None else f"{p[key]:g} {unit}"
        colour = COLOURS.get(p[state], GREY)
        return f"{PAD + i * step:.1f}", f"{y(p[key]):.1f}", colour, _when(p), p[state], shown

    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{} {} ({})</title></circle>',
        (dot(i, p) for i, p in enumerate(points)),
    )
    line = " ".join(f"{PAD + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    return format_html(
        '<svg role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" style="background:#fff;border:1px solid #d0d7de">'
        '<line x1="{p}" x2="{r}" y1="{t}" y2="{t}" stroke="#cf222e" stroke-dasharray="4 3"/>'
        '<text x="{r}" y="{tl}" text-anchor="end" font-size="11" fill="#cf222e">'
        "limit {thr} {unit}</text>"
        '<line x1="{p}" x2="{r}" y1="{z}" y2="{z}" stroke="#8c959f"/>'
        '<text x="4" y="{z}" font-size="11" fill="#57606a">0</text>'
        '<polyline points="{line}" fill="none" stroke="#57606a" stroke-width="1"/>{dots}'
        '<text x="{p}" y="{b}" font-size="11" fill="#57606a">{first}</text>'
        '<text x="{r}" y="{b}" text-anchor="end" font-size="11" fill="#57606a">{last}</text>'
        "</svg>",
        label=label,
        w=WIDTH,
        h=HEIGHT,
        p=PAD,
        r=WIDTH - PAD,
        t=f"{y(limit):.1f}",
        tl=f"{y(limit) - 4:.1f}",
        thr=f"{limit:g}",
        unit=unit,
        z=f"{y(0):.1f}",
        line=line,
        dots=dots,
        b=HEIGHT - 8,
        first=_when(points[0]),
        last=_when(points[-1]),
    )
