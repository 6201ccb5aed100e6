"""The one retry policy: finite attempts, exponential back-off, capped, never before Retry-After.

It lives in the SDK (no Django) so the server and its clients wait the same way:
the notification outbox and the playbook runner (through ``ops.retry``), the
channels reading a peer's ``Retry-After``, the OPS emitter and
``Watchdog.run_once`` (429 answers) all call these two functions.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


def backoff(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...).

    ``base``, ``2 x base``, ``4 x base`` ... never more than ``cap``, and never
    shorter than the peer's ``retry_after`` (a Retry-After header wins over the cap).
    """
    delay = min(base * 2 ** max(0, attempt - 1), cap)
    return max(delay, retry_after or 0.0)


def parse_retry_after(value) -> float | None:
    """``Retry-After`` as seconds from now: a number, or an HTTP date; None when absent or
    unreadable (the caller then waits its own back-off)."""
    if value in (None, ""):
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
