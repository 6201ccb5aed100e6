"""The demo services' past: what their sensors would have reported over the last 90 days.

``readings(service, metric, start, end)`` is each demo service's story, the same on
every machine (seeded by service, metric and day): the luggage scanner's queue was
fine until three weeks ago and has been over its 30 s promise since; the benefits
portal has stayed fast. ``replay(start, end)`` sends one span of that story through
``ops.metrics.ingest`` as the server would have received it at ``end`` (the
ingest window is the one of that moment), so the history is stored by the same
code as live readings, and the normal retention purge later drops what is older
than ``HMS_METRIC_RETENTION_DAYS`` — exactly what a demo running for 90 days keeps.

The APM demo (``apm.demo_history``) drives the replay day by day, running its
``metric`` baselines between the days, as the watchdog would have.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ops.metrics import ingest

STEP = timedelta(minutes=15)
HISTORY_DAYS = 90
RED_SINCE_DAYS = 21  # the scanner's queue has been too long for three weeks


@dataclass(frozen=True)
class Story:
    """Readings spread uniformly in ``[low, high]`` per day; ``worse`` applies in the last days."""

    low: float
    high: float
    worse: tuple[float, float] | None = None


STORIES = {
    # p95 of a fine day ≈ 25 s (promise ≤ 30 s); of a bad day ≈ 40.6 s: 35 % over, a breach.
    ("DCA_Luggage_Scanner", "queue_time_seconds"): Story(8.0, 26.0, worse=(14.0, 42.0)),
    # p99 ≈ 0.6 s against a 0.8 s promise, every day.
    ("Benefits_Portal_API", "request_latency_seconds"): Story(0.1, 0.6),
}


def readings(service: str, metric: str, start: datetime, end: datetime, now: datetime):
    """``(ts, value)`` every ``STEP`` in ``[start, end)``: the story of ``(service, metric)``.

    Each day's values come from a generator seeded by the day, so any span of the
    story is the same whichever way it is cut into replays.
    """
    story = STORIES[(service, metric)]
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    per_day = int(timedelta(days=1) / STEP)
    while day < end:
        rng = random.Random(f"{service}/{metric}/{day.date()}")  # noqa: S311 - reproducible demo
        for index in range(per_day):
            ts = day + index * STEP
            bad = story.worse is not None and ts >= now - timedelta(days=RED_SINCE_DAYS)
            low, high = story.worse if bad else (story.low, story.high)
            value = round(rng.uniform(low, high), 3)
            if start <= ts < end:
                yield ts, value
        day += timedelta(days=1)


def spans(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    edge = start
    while edge < end:
        yield edge, min(edge + step, end)
        edge += step


def replay(start: datetime, end: datetime, now: datetime) -> int:
    """Ingest every demo story's readings of ``[start, end)``, a day at a time, each day's
    batch as received at its end (so each is inside the retention window of its moment)."""
    stored = 0
    for span_start, span_end in spans(start, end, timedelta(days=1)):
        for service, metric in STORIES:
            samples = [
                {"name": metric, "value": value, "ts": ts.isoformat()}
                for ts, value in readings(service, metric, span_start, span_end, now)
            ]
            if samples:
                stored += ingest({"samples": samples}, default_service=service, now=span_end)
    return stored


# --- the demo's present: the services keep reporting while the demo runs ------------------

LIVE_STEP_SECONDS = 10
LIVE_WINDOW_SECONDS = 300
# (low, high) of the live readings: the scanner is still slow (p95 ≈ 37 s against ≤ 30 s).
LIVE = {
    ("DCA_Luggage_Scanner", "queue_time_seconds"): (12.0, 38.0),
    ("Benefits_Portal_API", "request_latency_seconds"): (0.1, 0.6),
}
FEED_TASK = "hms demo: the demo services report every 10 s"


def feed(now: datetime | None = None) -> int:
    """Ingest the demo services' readings since their last one (at most the SLO window's worth),
    every ``LIVE_STEP_SECONDS``, seeded by the reading's time: what their sensors would push.

    Beat runs it every 10 s through the periodic task ``FEED_TASK`` that ``hms_demo``
    creates (visible and switchable off in the admin), so the demo's war room stays
    live after its first five minutes. Running it twice for the same moment stores
    nothing new (it starts after the latest stored reading).
    """
    from django.utils import timezone

    from ops.metrics.store import WindowQuery, get_store

    now = now or timezone.now()
    stored = 0
    queries = [WindowQuery(s, m, LIVE_WINDOW_SECONDS, now, "last") for s, m in LIVE]
    newest = {
        (w.query.service, w.query.metric): w.newest for w in get_store().window_stats(queries)
    }
    for (service, metric), (low, high) in LIVE.items():
        latest = newest[(service, metric)]
        start = now - timedelta(seconds=LIVE_WINDOW_SECONDS)
        if latest is not None and latest > start:
            start = latest
        first = int(start.timestamp()) // LIVE_STEP_SECONDS * LIVE_STEP_SECONDS + LIVE_STEP_SECONDS
        samples = []
        for epoch in range(first, int(now.timestamp()) + 1, LIVE_STEP_SECONDS):
            rng = random.Random(f"{service}/{metric}/{epoch}")  # noqa: S311 - reproducible demo
            ts = datetime.fromtimestamp(epoch, tz=UTC)
            samples.append(
                {"name": metric, "value": round(rng.uniform(low, high), 3), "ts": ts.isoformat()}
            )
        if samples:
            stored += ingest({"samples": samples}, default_service=service, now=now)
    return stored
