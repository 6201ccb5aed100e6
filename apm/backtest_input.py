"""A baseline backtest's input (apm.backtest): the generic checks of ``ops.whatif``, the
schedule's interval as the default step, and a candidate ``period``."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from apm import cron, periods
from ops.whatif import (  # noqa: F401  (the backtest's names)
    MAX_POINTS,
    MAX_RANGE,
    Range,
    number,
    parse_duration,
    parse_time,
    time_range,
)


def schedule_interval(schedule: str, at: datetime) -> int:
    """The schedule's interval in seconds: the gap between its next two fire times."""
    first = cron.next_after(schedule, at)
    return int((cron.next_after(schedule, first) - first).total_seconds())


def period_choice(value) -> str | None:
    if value is None:
        return None
    if value not in periods.KINDS:
        raise ValidationError({"period": f"one of {', '.join(periods.KINDS)}"})
    return value
