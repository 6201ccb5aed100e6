"""A backtest's evaluation times without a datetime per point (apm.backtest): their count,
their ISO-8601 texts, and the daily policy check a red streak ends after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from ops.whatif import Range

DAY = 86400


def count(span: Range) -> int:
    """The evaluations in ``span``: since, since + step, ... up to until (``Range.times``)."""
    return int((span.until - span.since).total_seconds() // span.step) + 1


def iso_times(span: Range) -> list[str]:
    """``t.isoformat()`` for each of ``span.times``, without building the aware datetimes.

    ``since + k * step`` keeps ``since``'s tzinfo; under a fixed offset (what an ISO-8601
    input parses to) each text is the naive wall time's plus that offset's, and with a
    step of whole days the wall clock time is since's too: only the date moves."""
    since, step, n = span.since, span.step, count(span)
    if not isinstance(since.tzinfo, timezone):  # a zone with transitions: ask each time
        return [(since + timedelta(seconds=k * step)).isoformat() for k in range(n)]
    wall = since.replace(tzinfo=None)
    text = since.isoformat()
    if step % DAY == 0:
        tail, first, days = text[10:], since.toordinal(), step // DAY
        ordinals = range(first, first + n * days, days)
        return [day.isoformat() + tail for day in map(date.fromordinal, ordinals)]
    offset = text[len(wall.isoformat()) :]
    return [(wall + timedelta(seconds=k * step)).isoformat() + offset for k in range(n)]


def last_policy_check(before: datetime, hour: int, minute: int) -> datetime:
    """The daily policy task's last time (``hour:minute`` UTC) strictly before ``before``."""
    day = before.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return day if day < before else day - timedelta(days=1)
