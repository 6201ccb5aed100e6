"""The one retry policy: finite attempts, exponential back-off, capped, never before Retry-After.

The notification outbox (``ops.outbox``) and the playbook runner (``ops.playbook``)
both wait ``backoff(...)`` before a failed attempt is tried again; each keeps its own
attempt budget and settings (``HMS_NOTIFY_*``, ``HMS_PLAYBOOK_*``). Celery itself
retries nothing: a retry is a row put back to pending with a later due time, so it
survives a worker or broker restart and every attempt is stored.

The functions themselves live in ``hms_sdk.retry`` (importable without Django), so
the SDK's senders wait by the same policy; the server imports them from here.
"""

from hms_sdk.retry import backoff, parse_retry_after

__all__ = ["backoff", "parse_retry_after"]
