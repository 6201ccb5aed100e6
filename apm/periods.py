"""Calendar periods: the month, quarter or fiscal year containing an instant, in a time zone.

Pure arithmetic (no database, no settings read unless no fiscal start month is
given). A period runs from local midnight of its first day to local midnight of
the first day after it, in an IANA zone: both ends are computed as wall-clock
dates and then localised, so a period containing a DST change is 1 hour longer
or shorter, never shifted. ``start`` and ``end`` are aware datetimes in UTC;
``end`` is the first instant after the period.

Kinds and labels (docs/VERDICTS.md, "Periods"):

- ``month``: ``2026-11``;
- ``quarter``: three months aligned with the fiscal year's start month (the
  default October gives the calendar quarters), labelled by the calendar year
  and quarter of the month it starts in: ``2027Q1`` is January to March 2027;
- ``fiscal_year``: twelve months from ``HMS_FISCAL_YEAR_START_MONTH``, named by
  the calendar year it ends in (the US federal convention): with October,
  ``FY2027`` runs from 2026-10-01 to 2027-09-30.

``rolling`` is no period: the probe's own window decides (today's behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hms_site import timezones

ROLLING, MONTH, QUARTER, FISCAL_YEAR = "rolling", "month", "quarter", "fiscal_year"
KINDS = (ROLLING, MONTH, QUARTER, FISCAL_YEAR)
CALENDAR_KINDS = (MONTH, QUARTER, FISCAL_YEAR)
_MONTHS = {MONTH: 1, QUARTER: 3, FISCAL_YEAR: 12}


class PeriodError(ValueError):
    """A bad kind, zone or fiscal start month (the message names which)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``PeriodError`` when there is no such zone."""
    found = timezones.zone(name)
    if found is None:
        shown = repr(name) if len(str(name)) <= timezones.MAX_NAME else "this text"
        raise PeriodError(f"{shown} is not an IANA time zone (e.g. UTC, America/New_York)")
    return found


def fiscal_start_month(value: int | None = None) -> int:
    if value is None:
        from django.conf import settings

        value = getattr(settings, "HMS_FISCAL_YEAR_START_MONTH", 10)
    if not isinstance(value, int) or not 1 <= value <= 12:
        raise PeriodError(f"the fiscal year's start month must be 1-12, not {value!r}")
    return value


def _month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


@dataclass(frozen=True, order=True)
class Period:
    """One calendar period: ``kind`` starting at month index ``first`` (year * 12 + month - 1)."""

    first: int
    kind: str
    tz: str = "UTC"
    fiscal_start: int = 10

    @classmethod
    def containing(
        cls, kind: str, at: datetime, tz: str = "UTC", fiscal_start: int | None = None
    ) -> Period:
        if kind not in CALENDAR_KINDS:
            raise PeriodError(f"{kind!r} is not a calendar period ({', '.join(CALENDAR_KINDS)})")
        if at.tzinfo is None:
            raise PeriodError("the instant needs a time zone")
        fiscal = fiscal_start_month(fiscal_start)
        local = at.astimezone(zone(tz))
        index = _month_index(local.year, local.month)
        length = _MONTHS[kind]
        # Quarters and fiscal years are aligned with the fiscal start month.
        offset = 0 if kind == MONTH else (fiscal - 1) % length
        first = index - ((index - offset) % length)
        return cls(first, kind, tz, fiscal)

    def _local_midnight(self, index: int) -> datetime:
        year, month = divmod(index, 12)
        # Wall-clock midnight in the zone, then UTC: the DST rule of that date applies.
        return datetime(year, month + 1, 1, tzinfo=zone(self.tz)).astimezone(UTC)

    @property
    def length_months(self) -> int:
        return _MONTHS[self.kind]

    @property
    def start(self) -> datetime:
        return self._local_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return self._local_midnight(self.first + self.length_months)

    def shifted(self, n: int) -> Period:
        return Period(self.first + n * self.length_months, self.kind, self.tz, self.fiscal_start)

    def next(self) -> Period:
        return self.shifted(1)

    def previous(self) -> Period:
        return self.shifted(-1)

    def previous_n(self, n: int) -> list[Period]:
        """The ``n`` periods before this one, oldest first."""
        return [self.shifted(-k) for k in range(n, 0, -1)]

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def to_date_seconds(self, at: datetime) -> int:
        """Seconds from the period's start to ``at`` (capped at the period's end), at least 1."""
        until = min(at, self.end)
        return max(1, int((until - self.start).total_seconds()))

    @property
    def label(self) -> str:
        year, month0 = divmod(self.first, 12)
        if self.kind == MONTH:
            return f"{year}-{month0 + 1:02d}"
        if self.kind == QUARTER:
            return f"{year}Q{month0 // 3 + 1}"
        # Named by the calendar year it ends in (FY2027 = Oct 2026 - Sep 2027).
        last_year = (self.first + 11) // 12
        return f"FY{last_year}"

    def __str__(self) -> str:
        return self.label


def closed_periods(
    kind: str,
    now: datetime,
    n: int,
    tz: str = "UTC",
    fiscal_start: int | None = None,
) -> list[Period]:
    """The last ``n`` periods that ended at or before ``now``, oldest first."""
    return Period.containing(kind, now, tz, fiscal_start).previous_n(n)


def between(
    kind: str,
    since: datetime,
    until: datetime,
    tz: str = "UTC",
    fiscal_start: int | None = None,
) -> list[Period]:
    """Every period that overlaps [since, until), oldest first."""
    period = Period.containing(kind, since, tz, fiscal_start)
    found = []
    while period.start < until:
        found.append(period)
        period = period.next()
    return found
