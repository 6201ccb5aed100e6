"""Baseline schedules: five-field cron expressions (UTC), as Celery's ``crontab`` runs them.

Beat runs each baseline's schedule as a django-celery-beat ``CrontabSchedule``,
so Celery's own field parser decides what is valid (it refuses day-of-week 7 and
``5/10``, and reads ``5-1`` as the wrap-around 5..59,0,1). croniter, with
``day_or=False`` (both day fields must match, as in Celery), finds fire times:
the slot a scheduled run belongs to, and "never fires" at validation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery.schedules import ParseException, crontab_parser
from croniter import CroniterError, croniter

from hms_apm.schedule import out_of_range

# name, Celery's parser range (size, first value)
FIELDS = (
    ("minute", 60, 0),
    ("hour", 24, 0),
    ("day of month", 31, 1),
    ("month", 12, 1),
    ("day of week", 7, 0),
)


class CronError(ValueError):
    """Not a schedule beat can run; the message names the field."""


def fields(expression: str) -> list[str]:
    """The five fields (for ``CrontabSchedule``); ``CronError`` naming the bad one."""
    parts = str(expression).split()
    if len(parts) != 5:
        raise CronError(
            "expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {expression!r}"
        )
    for text, (name, size, first) in zip(parts, FIELDS, strict=True):
        try:
            crontab_parser(size, first).parse(text)
        except (ValueError, ParseException) as exc:
            raise CronError(
                out_of_range(name, text, first, first + size - 1)
                or f"{name}: {text!r} is refused by Celery's crontab ({exc})"
            ) from None
    if not croniter.is_valid(" ".join(parts)):
        raise CronError(f"{expression!r} is not a cron expression")
    return parts


def _iter(expression: str, start: datetime) -> croniter:
    if start.tzinfo is None:
        raise ValueError("cron times must be timezone-aware")
    return croniter(" ".join(fields(expression)), start, day_or=False)


def next_after(expression: str, moment: datetime) -> datetime:
    """The first fire time strictly after ``moment`` (whole minute, ``moment``'s zone)."""
    try:
        return _iter(expression, moment.replace(second=0, microsecond=0)).get_next(datetime)
    except CroniterError as exc:
        raise CronError(f"{expression!r} never fires ({exc})") from None


def previous(expression: str, moment: datetime) -> datetime:
    """The latest fire time at or before ``moment`` (whole minute)."""
    start = moment.replace(second=0, microsecond=0) + timedelta(seconds=1)
    try:
        return _iter(expression, start).get_prev(datetime)
    except CroniterError as exc:
        raise CronError(f"{expression!r} never fires ({exc})") from None
