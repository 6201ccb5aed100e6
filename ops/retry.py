"""The one retry policy: finite attempts, exponential back-off, capped, never before Retry-After.

The notification outbox (``ops.outbox``) and the playbook runner (``ops.playbook``)
both wait ``backoff(...)`` before a failed attempt is tried again; each keeps its own
attempt budget and settings (``HMS_NOTIFY_*``, ``HMS_PLAYBOOK_*``). Celery itself
retries nothing: a retry is a row put back to pending with a later due time, so it
survives a worker or broker restart and every attempt is stored.
"""

from __future__ import annotations


def backoff(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...).

    ``base``, ``2 x base``, ``4 x base`` ... never more than ``cap``, and never
    shorter than the peer's ``retry_after`` (a Retry-After header wins over the cap).
    """
    delay = min(base * 2 ** max(0, attempt - 1), cap)
    return max(delay, retry_after or 0.0)
