"""Error-budget arithmetic: budget windows, burn rates and the multi-window alert rules.

Pure functions (no database), shared by the ``.ops.yaml`` validation, the status
API and the tick. The rules are the Google SRE workbook's multi-window,
multi-burn-rate alerts, written for a 30-day budget and scaled to the SLO's own
``budget_window`` (a window of 30 h scales every alert window by 30 h / 30 d).

- A **good event** is one sample at or below the SLO's ``threshold``; a bad one is above it.
- **Error rate** over a window: bad ÷ all samples in it (0 when there is none).
- **Burn rate**: error rate ÷ (1 - objective). 1x spends the budget exactly over the window.
- **Budget remaining**: 1 - error rate over the budget window ÷ (1 - objective); 100 % when
  nothing has gone wrong yet (also at the start of a calendar window, when no sample is in
  it), negative once overspent. In minutes: that fraction of (1 - objective) x window length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BASE_SECONDS = 30 * 86400  # the workbook's rules are written for a 30-day budget
CALENDAR = {"month", "quarter"}
_DURATION = re.compile(r"^(\d+)(m|h|d)$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}
MIN_SECONDS, MAX_SECONDS = 3600, 400 * 86400
DEFAULT_WINDOW = "30d"


class BudgetWindowError(ValueError):
    pass


@dataclass(frozen=True)
class AlertRule:
    """Fires when the burn rate is above ``factor`` over both windows (seconds at 30 days)."""

    condition: str  # the playbook condition keyword
    factor: float
    long_seconds: int
    short_seconds: int


RULES = (
    AlertRule("fast_burn", 14.4, 3600, 300),
    AlertRule("fast_burn", 6.0, 6 * 3600, 1800),
    AlertRule("slow_burn", 3.0, 86400, 2 * 3600),
    AlertRule("slow_burn", 1.0, 3 * 86400, 6 * 3600),
)
ALERT_WINDOWS = tuple(sorted({s for r in RULES for s in (r.long_seconds, r.short_seconds)}))


def validate(spec: str) -> str:
    """The spec unchanged, or a ``BudgetWindowError`` saying what is accepted."""
    if spec in CALENDAR:
        return spec
    match = _DURATION.match(spec)
    if not match:
        raise BudgetWindowError(
            f"{spec!r} is not a budget window: use a duration such as 30d, 28d or 720h, "
            "or month or quarter"
        )
    seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BudgetWindowError(f"{spec!r} must be between 1h and 400d")
    return spec


def _calendar_start(spec: str, at: datetime) -> tuple[datetime, datetime]:
    at = at.astimezone(UTC)
    month = at.month if spec == "month" else 3 * ((at.month - 1) // 3) + 1
    start = datetime(at.year, month, 1, tzinfo=UTC)
    months = 1 if spec == "month" else 3
    end_month = month + months
    end = datetime(at.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def bounds(spec: str, at: datetime) -> tuple[datetime, float]:
    """(start of the budget window at ``at``, the window's full length in seconds).

    Rolling: ``at - length``. Calendar (UTC months and quarters): the period's first
    instant, and the whole period's length (what the budget in minutes is a share of).
    """
    if spec in CALENDAR:
        start, end = _calendar_start(spec, at)
        return start, (end - start).total_seconds()
    match = _DURATION.match(validate(spec))
    seconds = int(match.group(1)) * _UNIT[match.group(2)]
    return at - timedelta(seconds=seconds), float(seconds)


def scale(spec: str, at: datetime) -> float:
    """How much the workbook's 30-day windows shrink or grow for this budget window."""
    return bounds(spec, at)[1] / BASE_SECONDS


def error_rate(total: int, bad: int) -> float:
    return bad / total if total else 0.0


def burn_rate(total: int, bad: int, objective: float) -> float:
    return error_rate(total, bad) / (1 - objective / 100)


def remaining(total: int, bad: int, objective: float, length_seconds: float) -> tuple[float, float]:
    """(fraction of the budget left, minutes of full outage it can still absorb)."""
    left = 1 - burn_rate(total, bad, objective)
    return left, left * (1 - objective / 100) * length_seconds / 60


def firing(burns: dict[int, float]) -> set[str]:
    """The conditions (``fast_burn``, ``slow_burn``) whose rule holds for these burn rates.

    ``burns`` maps each of ``ALERT_WINDOWS`` (unscaled seconds) to its burn rate.
    """
    return {
        rule.condition
        for rule in RULES
        if burns[rule.long_seconds] > rule.factor and burns[rule.short_seconds] > rule.factor
    }
