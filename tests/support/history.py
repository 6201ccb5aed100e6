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
