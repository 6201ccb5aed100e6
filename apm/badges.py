"""Badges of public programs: how many of their promises the latest verdicts say are kept.

``/public/badges/<code>.json`` answers shields.io's endpoint schema
(``{"schemaVersion": 1, "label", "message", "color"}``), so a README or a web page
can show it through shields.io; ``/public/badges/<code>.svg`` draws the same badge
here (no third party needed). A private or unknown program is a 404 either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from apm.models import Baseline, Deviation, Program

KEPT = Deviation.Status.OK
CACHE_SECONDS = 300


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    color: str  # a shields.io colour name
    hex: str

    def endpoint(self) -> dict:
        return {
            "schemaVersion": 1,
            "label": self.label,
            "message": self.message,
            "color": self.color,
            "cacheSeconds": CACHE_SECONDS,
        }


def public_program(code: str) -> Program | None:
    return Program.objects.filter(code=code, public=True).first()


def badge_for(program: Program) -> Badge:
    """One statement: every active baseline's latest verdict."""
    statuses = [
        b.latest_status
        for b in Baseline.objects.filter(program=program, active=True).with_latest_deviation()
    ]
    measured = [s for s in statuses if s is not None]
    label = f"{program.code} promises"
    if not measured:
        return Badge(label, "not measured yet", "lightgrey", "#9f9f9f")
    kept = sum(1 for s in measured if s == KEPT)
    message = f"{kept} of {len(measured)} kept"
    if kept == len(measured):
        return Badge(label, message, "brightgreen", "#2e7d32")
    if kept * 2 >= len(measured):
        return Badge(label, message, "yellow", "#b58900")
    return Badge(label, message, "red", "#c62828")


def _width(text: str) -> int:
    return 10 + round(len(text) * 6.6)


def svg(badge: Badge) -> str:
    """A flat badge, the two texts on a grey and a coloured half."""
    left, right = _width(badge.label), _width(badge.message)
    total = left + right
    label, message = escape(badge.label), escape(badge.message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{badge.hex}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{left / 2}" y="14">{label}</text>'
        f'<text x="{left + right / 2}" y="14">{message}</text></g></svg>'
    )
