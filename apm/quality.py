"""How much a verdict rests on, in one line: "12 samples · 96 % complete · newest 3 minutes ago
· Prometheus".

The figures are the deviation's data-quality fields (``sample_count``,
``completeness``, ``newest_sample_at``, ``source``; docs/VERDICTS.md); a figure
the probe did not report is left out (a missing completeness says why the probe kind
cannot know it), and a verdict with none reads "data quality not recorded". ``fields``
gives the same four for the API, the review and the trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from django.conf import settings
from django.utils.timesince import timesince

FIELDS = ("sample_count", "completeness", "newest_sample_at", "source")
NOT_RECORDED = "data quality not recorded"
# The probe kinds' names as people say them (a source that says more is shown as it is).
SOURCE_NAMES = {"promql": "Prometheus", "sql": "SQL", "metric": "HMS metrics"}
# Why a kind's verdicts carry no completeness (null means "the probe cannot know").
UNKNOWN_COMPLETENESS = {
    "promql": "completeness unknown: Prometheus does not tell HMS its scrape interval",
    "sql": "completeness unknown: SQL rows have no sampling interval",
    "metric": "completeness unknown: too few samples to tell their interval",
}
# How many of the window's newest samples the median spacing of a pushed sensor reads.
SPACING_SAMPLES = 1000


def completeness(count: int | None, expected: float | None) -> float | None:
    """``min(1, count / expected)`` to 4 places; None when either is unknown."""
    if count is None or not expected:
        return None
    return round(min(count / expected, 1.0), 4)


def interval_seconds(service: str, metric: str, since: datetime, at: datetime) -> float | None:
    """The seconds between two samples of ``service``/``metric`` that a full window holds.

    A scraped sensor (``scrape_url`` in its .ops.yaml) is read every ``HMS_SCRAPE_SECONDS``.
    A pushed one (no scrape_url; a service definition states no interval for it) is taken
    at the median spacing of the distinct times of the window's newest ``SPACING_SAMPLES``
    samples: gaps are single long spacings and do not move the median. None with fewer
    than two distinct times (nothing to space).
    """
    from ops.metrics import get_store
    from ops.models import Sensor

    scrape_url = (
        Sensor.objects.filter(service_id=service, name=metric)
        .values_list("scrape_url", flat=True)
        .first()
    )
    if scrape_url:
        return float(settings.HMS_SCRAPE_SECONDS)
    points = get_store().points(service, metric, since, at, SPACING_SAMPLES)
    times = sorted({when for series in points.series for when, _ in series.points})
    spacings = [(b - a).total_seconds() for a, b in pairwise(times)]
    return median(spacings) if spacings else None


def expected_samples(stat) -> float | None:
    """How many samples the window of ``stat`` (an ``ops.metrics`` ``WindowStat``) should
    hold: its length over the sensor's interval (``interval_seconds``), at least 1. An empty
    window expects at least one sample whatever the interval (0 % complete)."""
    query = stat.query
    if stat.samples == 0:
        return 1.0
    since = query.at - timedelta(seconds=query.window_seconds)
    interval = interval_seconds(query.service, query.metric, since, query.at)
    if not interval:
        return None
    return max(1.0, query.window_seconds / interval)


def unknown_completeness(row) -> str:
    """Why ``row`` (a deviation or a dict) has no completeness, by its probe kind ("" when it
    has one, or its source names no kind)."""
    figures = fields(row)
    if figures["completeness"] is not None:
        return ""
    kind = (figures["source"] or "").strip().split(":", 1)[0]
    return UNKNOWN_COMPLETENESS.get(kind, "")


def low_completeness(value: float | None) -> bool:
    """Below ``HMS_COMPLETENESS_MIN``: the pages flag it like a stale source."""
    return value is not None and value < settings.HMS_COMPLETENESS_MIN


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
    source = (figures["source"] or "").strip()
    if figures["completeness"] is not None:
        parts.append(f"{figures['completeness'] * 100:.0f} % complete")
    elif unknown_completeness(figures):
        parts.append(unknown_completeness(figures))
    if figures["newest_sample_at"] is not None:
        parts.append(f"newest {_ago(figures['newest_sample_at'], at, suffix)}")
    if source:
        parts.append(SOURCE_NAMES.get(source, source))
    return " · ".join(parts) or NOT_RECORDED
