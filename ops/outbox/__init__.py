"""The notification outbox.

    from ops import outbox
    with transaction.atomic():
        escalation.save()
        outbox.enqueue("kpi-alerts", "Error rate 1.4 % > 1 %", dedupe_key=f"escalation:{e.pk}:open")

The row commits with the caller's state change; the dispatch is queued with
``transaction.on_commit``, and a beat sweep picks up anything whose dispatch
was lost. See docs/NOTIFICATIONS.md for the delivery guarantee.
"""

from ops.outbox.services import deliver, dispatch_due, enqueue, reclaim_expired, retry

__all__ = ["deliver", "dispatch_due", "enqueue", "reclaim_expired", "retry"]
