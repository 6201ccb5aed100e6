"""Five-field cron expressions (UTC), with no dependency beyond the standard library.

``minute hour day-of-month month day-of-week``; each field is ``*``, a number, a
range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma-separated list of those.
Day-of-week is 0-6 with 0 = Sunday. As in Celery's ``crontab`` (which runs the
server-side schedules, so the SDK and the server agree on every fire time), a
minute fires when **all five** fields match, including both day fields.

The same parser validates a baseline's ``schedule`` on the server, derives the
cron slot a scheduled run belongs to, and drives ``Watchdog.serve()`` in the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
# Far enough to cover every valid combination (e.g. 29 February on a Monday: 28 years).
_SEARCH_LIMIT = timedelta(days=366 * 29)


class CronError(ValueError):
    """The expression is not a valid five-field cron; the message names the field."""


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is outside {low}-{high}")
    return value


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty item in {text!r}")
        span, _, step_text = part.partition("/")
        step = _number(step_text, name, 1, high - low + 1) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, name, low, high), _number(last, name, low, high)
            if start > end:
                raise CronError(f"{name}: range {span!r} runs backwards")
        elif step_text:
            raise CronError(f"{name}: a step needs '*' or a range before '/', got {part!r}")
        else:
            start = end = _number(span, name, low, high)
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = str(expression).split()
        if len(parts) != 5:
            raise CronError(
                f"expected 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)} in {expression!r}"
            )
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, FIELDS, strict=True)]
        return cls(" ".join(parts), *sets)

    @property
    def fields(self) -> list[str]:
        """The five fields as written (for django-celery-beat's ``CrontabSchedule``)."""
        return self.expression.split()

    def matches(self, moment: datetime) -> bool:
        moment = _utc(moment)
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.day in self.days
            and moment.month in self.months
            and (moment.weekday() + 1) % 7 in self.weekdays
        )

    def previous(self, moment: datetime) -> datetime:
        """The latest fire time at or before ``moment`` (UTC, whole minute)."""
        return self._walk(_utc(moment).replace(second=0, microsecond=0), -1)

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment`` (UTC, whole minute)."""
        start = _utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return self._walk(start, +1)

    def _walk(self, moment: datetime, direction: int) -> datetime:
        # Skip whole days/hours that cannot match, so even yearly schedules are found quickly.
        limit = moment + direction * _SEARCH_LIMIT
        while (moment <= limit) if direction > 0 else (moment >= limit):
            day_ok = (
                moment.month in self.months
                and moment.day in self.days
                and (moment.weekday() + 1) % 7 in self.weekdays
            )
            if not day_ok:
                moment = _day_edge(moment, direction)
            elif moment.hour not in self.hours:
                moment = _hour_edge(moment, direction)
            elif moment.minute not in self.minutes:
                moment += direction * timedelta(minutes=1)
            else:
                return moment
        raise CronError(f"{self.expression!r} never fires")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("cron times must be timezone-aware")
    return moment.astimezone(UTC)


def _day_edge(moment: datetime, direction: int) -> datetime:
    midnight = moment.replace(hour=0, minute=0)
    return midnight + timedelta(days=1) if direction > 0 else midnight - timedelta(minutes=1)


def _hour_edge(moment: datetime, direction: int) -> datetime:
    top = moment.replace(minute=0)
    return top + timedelta(hours=1) if direction > 0 else top - timedelta(minutes=1)
