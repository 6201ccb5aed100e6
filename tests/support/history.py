"""The deterministic history every Prometheus-backed test queries.

All queries use ``EVAL_TIME``; the data ends there, 10 days long at 15-minute steps.
"""

from tests.support.prometheus import counter, gauge

EVAL_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 900
START = EVAL_TIME - 10 * 24 * 3600


def default_history():
    span = {"start": START, "end": EVAL_TIME, "step": STEP}
    return [
        # rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d]) == 37.2
        counter("housing_wait_days_sum", per_step=37.2, **span),
        counter("housing_wait_count", per_step=1, **span),
        # a "ge" promise: approval rate 0.8 per step out of 1 → 80 %
        counter("voucher_approved_total", per_step=0.8, **span),
        counter("voucher_applications_total", per_step=1, **span),
        # the seed's mini-exercise: 3 errors per 100 requests → 3 %
        counter("api_errors_total", per_step=3, **span),
        counter("api_requests_total", per_step=100, **span),
        gauge("scanner_queue_seconds", 38.0, labels=(("service", "scanner"),), **span),
    ]


# --- calendar history (apm.periods, the backtest): hourly, 2025-07-01 to 2026-10-03 UTC ---
CAL_START = 1_751_328_000  # 2025-07-01T00:00:00Z
CAL_END = 1_790_985_600  # 2026-10-03T00:00:00Z
CAL_STEP = 3600
# The UTC quarter's level of quarter_backlog_days (a "≤ 35, 10 %" promise misses 40 and 45).
QUARTER_LEVELS = {
    "2025Q3": 30.0,
    "2025Q4": 40.0,
    "2026Q1": 30.0,
    "2026Q2": 45.0,
    "2026Q3": 33.0,
    "2026Q4": 30.0,
}
# fy_backlog_days: 100 before FY2026 starts in New York (2025-10-01T04:00Z), 20 in FY2026,
# 50 from FY2027 (2026-10-01T04:00Z): UTC boundaries would average in other years' values.
FY2026_START, FY2027_START = 1_759_291_200, 1_790_827_200


def quarter_of(ts: int) -> str:
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(ts, tz=UTC)
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def daily_wait(ts: int) -> float:
    """daily_wait_days: 30 + (UTC day number mod 10), constant within a UTC day."""
    return 30.0 + (ts // 86400) % 10


def calendar_history():
    from tests.support.prometheus import Series

    times = range(CAL_START, CAL_END + 1, CAL_STEP)
    fy = [(t, 100.0 if t < FY2026_START else 20.0 if t < FY2027_START else 50.0) for t in times]
    return [
        Series("quarter_backlog_days", [(t, QUARTER_LEVELS[quarter_of(t)]) for t in times]),
        Series("fy_backlog_days", fy),
        Series("daily_wait_days", [(t, daily_wait(t)) for t in times]),
    ]
