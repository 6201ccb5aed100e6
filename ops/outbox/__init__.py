"""The notification outbox.

    from ops import outbox
    with transaction.atomic():
        escalation.save()
        outbox.enqueue("kpi-alerts", "Error rate 1.4 % > 1 %", dedupe_key=f"escalation:{e.pk}:open")

The row commits with the caller's state change; the dispatch is queued with
``transaction.on_commit``, and a beat sweep picks up anything whose dispatch
was lost. See docs/NOTIFICATIONS.md for the delivery guarantee.

The rule for every ``transaction.on_commit`` in ``ops`` and ``apm``: it only hands
a committed row's id to the broker, and it is always ``robust=True``. The row
(a pending notification, a pending playbook action run) is the record and a
beat sweep (``dispatch_due``) sends whatever was not dispatched, so a broker
error after commit is logged, never raised into a caller whose change has
committed, and never stops the other callbacks. Work that writes no row first
(``apm.services.queue_runs``) has no commit to wait for: it sends at once and
lets a broker error reach the user.
"""

from ops.outbox.followups import kind_takes_follow_ups, takes_follow_ups, told_channels
from ops.outbox.services import deliver, dispatch_due, enqueue, reclaim_expired, retry

__all__ = [
    "deliver",
    "dispatch_due",
    "enqueue",
    "kind_takes_follow_ups",
    "reclaim_expired",
    "retry",
    "takes_follow_ups",
    "told_channels",
]
