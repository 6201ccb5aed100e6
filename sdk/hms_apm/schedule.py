"""Five-field cron expressions (UTC) for ``Watchdog.schedule`` / ``Watchdog.serve``, by croniter.

As in Celery's ``crontab`` (which runs the server-side schedules), a minute fires
when **all five** fields match, both day fields included (``day_or=False``). The
server also checks an expression with Celery's own parser when it is set on a
baseline (it refuses e.g. day-of-week ``7``), and answers 400 naming ``schedule``.
"""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterError, croniter

# name, lowest, highest (day of week: 0 = Sunday .. 6, as Celery reads it)
FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)


class CronError(ValueError):
    """Not a valid five-field cron expression; the message names the field."""


def parse_cron(expression: str) -> list[str]:
    """The five fields; ``CronError`` naming the first field croniter refuses."""
    parts = str(expression).split()
    if len(parts) != 5:
        raise CronError(
            "expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {expression!r}"
        )
    for index, (text, (name, low, high)) in enumerate(zip(parts, FIELDS, strict=True)):
        alone = ["*"] * 5
        alone[index] = text
        try:
            croniter(" ".join(alone))
        except CroniterError as exc:
            message = out_of_range(name, text, low, high) or f"{name}: {text!r} ({exc})"
            raise CronError(message) from None
        # croniter also takes 7 for Sunday; Celery, which runs the schedules, does not.
        if message := out_of_range(name, text, low, high):
            raise CronError(message)
    return parts


def out_of_range(name: str, text: str, low: int, high: int) -> str | None:
    """The plain words for a refused field whose trouble is a number out of range."""
    for part in text.split(","):
        for number in part.partition("/")[0].split("-"):
            if number.isdigit() and not low <= int(number) <= high:
                return f"{name}: {int(number)} is outside {low}-{high}"
    return None


def next_fire(expression: str, moment: datetime) -> datetime:
    """The first fire time strictly after ``moment`` (timezone-aware; whole minute)."""
    if moment.tzinfo is None:
        raise ValueError("cron times must be timezone-aware")
    start = moment.replace(second=0, microsecond=0)
    try:
        return croniter(" ".join(parse_cron(expression)), start, day_or=False).get_next(datetime)
    except CroniterError as exc:
        raise CronError(f"{expression!r} never fires ({exc})") from None
