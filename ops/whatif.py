"""A what-if's (backtest's) input: times, a step, numbers; checked and bounded, each error
naming its field (a 400). Shared by the baseline backtest (apm.backtest) and the
service backtest (ops.backtest)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

MAX_POINTS = 2000  # evaluations per backtest
MAX_RANGE = timedelta(days=800)  # since .. until
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text, field: str = "step") -> int:
    """``30m`` / ``6h`` / ``1d`` (or a number of seconds) as whole seconds, at least 60."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _DURATION.match(str(text or ""))
        if not match:
            raise ValidationError({field: "a duration like 30m, 6h or 1d"})
        seconds = int(match[1]) * _UNIT[match[2]]
    if seconds < 60:
        raise ValidationError({field: "at least 1 minute (60s)"})
    return seconds


def parse_time(value, field: str) -> datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed, but no such date (month 13, 30 February)
        parsed = None
    if parsed is None:
        raise ValidationError({field: "an ISO-8601 time, e.g. 2026-01-01T00:00:00Z"})
    if parsed.tzinfo is None:
        raise ValidationError({field: "give a time zone (e.g. 2026-01-01T00:00:00Z)"})
    return parsed


def number(value, field: str, *, minimum: float | None = None, integer=False):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError({field: "a number"})
    try:
        parsed = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "a whole number" if integer else "a number"}) from None
    if integer and not isinstance(value, int) and str(parsed) != str(value).strip():
        raise ValidationError({field: "a whole number"})
    if not math.isfinite(parsed):
        raise ValidationError({field: "a finite number"})
    if minimum is not None and parsed < minimum:
        raise ValidationError({field: f"at least {minimum:g}"})
    return parsed


@dataclass(frozen=True)
class Range:
    since: datetime
    until: datetime
    step: int

    @property
    def times(self) -> list[datetime]:
        count = int((self.until - self.since).total_seconds() // self.step) + 1
        return [self.since + timedelta(seconds=k * self.step) for k in range(count)]


def time_range(data: dict, default_step, now: datetime) -> Range:
    """``since``/``until``/``step`` from ``data``: until ≤ now, bounded in span and points."""
    errors = {}
    values = {}
    for field in ("since", "until"):
        try:
            values[field] = parse_time(data.get(field), field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    since, until = values["since"], values["until"]
    if until <= since:
        raise ValidationError({"until": "must be after since"})
    if until > now:
        raise ValidationError({"until": "must not be in the future: a backtest replays history"})
    if until - since > MAX_RANGE:
        raise ValidationError({"since": f"the range is at most {MAX_RANGE.days} days"})
    step = parse_duration(data["step"]) if data.get("step") is not None else default_step(since)
    points = int((until - since).total_seconds() // step) + 1
    if points > MAX_POINTS:
        raise ValidationError(
            {"step": f"{points} evaluations; at most {MAX_POINTS} (a longer step or shorter range)"}
        )
    return Range(since, until, step)
