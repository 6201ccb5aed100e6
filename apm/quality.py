"""How much a verdict rests on, in one line: "12 samples · 96 % complete · newest 3 minutes ago
· Prometheus".

The figures are the deviation's data-quality fields (``sample_count``,
``completeness``, ``newest_sample_at``, ``source``; docs/VERDICTS.md); a figure
the probe did not report is left out, and a verdict with none reads "data quality
not recorded". ``fields`` gives the same four for the API, the review and the trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.timesince import timesince

FIELDS = ("sample_count", "completeness", "newest_sample_at", "source")
NOT_RECORDED = "data quality not recorded"
# The probe kinds' names as people say them (a source that says more is shown as it is).
SOURCE_NAMES = {"promql": "Prometheus", "sql": "SQL", "metric": "HMS metrics"}


def fields(row) -> dict:
    """The four figures of ``row``: a deviation (or anything with those attributes) or a dict."""
    if isinstance(row, dict):
        return {name: row.get(name) for name in FIELDS}
    return {name: getattr(row, name, None) for name in FIELDS}


def _ago(moment: datetime, at: datetime, suffix: str) -> str:
    if abs(at - moment) < timedelta(minutes=1):
        return "just now" if suffix == "ago" else "at the run"
    if moment > at:
        return f"{timesince(at, moment)} after"
    return f"{timesince(moment, at)} {suffix}"


def describe(row, at: datetime, *, suffix: str = "ago") -> str:
    """``row``'s figures as words, joined by " · "; the newest sample's age is taken at
    ``at`` (now on the pages: "3 minutes ago"; the run in the trail: "before the run")."""
    figures = fields(row)
    parts = []
    count = figures["sample_count"]
    if count is not None:
        parts.append(f"{count} sample{'' if count == 1 else 's'}")
    if figures["completeness"] is not None:
        parts.append(f"{figures['completeness'] * 100:.0f} % complete")
    if figures["newest_sample_at"] is not None:
        parts.append(f"newest {_ago(figures['newest_sample_at'], at, suffix)}")
    source = (figures["source"] or "").strip()
    if source:
        parts.append(SOURCE_NAMES.get(source, source))
    return " · ".join(parts) or NOT_RECORDED
