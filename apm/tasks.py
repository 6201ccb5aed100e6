from celery import shared_task

from apm import services
from apm.schedules import TASK_NAME


@shared_task(name=TASK_NAME)
def run_scheduled_baseline(baseline_id: int) -> dict | str:
    """Beat's per-baseline tick; a second delivery for the same cron slot changes nothing."""
    deviation = services.run_scheduled(baseline_id)
    if deviation is None:
        return "gone or inactive"
    return {"deviation": deviation.pk, "status": deviation.status, "slot": str(deviation.slot)}


@shared_task(name=services.RUN_TASK)
def run_baseline(baseline_id: int, trigger: str, requested_at: str) -> dict | str:
    """A run queued by ``services.queue_runs``; a redelivery returns the first run's deviation."""
    deviation = services.run_queued(baseline_id, trigger, requested_at)
    if deviation is None:
        return "gone"
    return {"deviation": deviation.pk, "status": deviation.status, "trigger": deviation.trigger}


@shared_task(name="apm.tasks.apply_escalation_policies")
def apply_escalation_policies() -> dict:
    """Daily: one leadership-review ticket per baseline red too long without a fix."""
    from apm import policies

    return {"opened": [t.pk for t in policies.apply_policies()]}


@shared_task(name="apm.tasks.send_due_reminders")
def send_due_reminders() -> dict:
    """Beat, every HMS_REMINDER_SWEEP_SECONDS: queue each due escalation reminder once."""
    from apm import reminders

    return reminders.sweep()


@shared_task(name="apm.tasks.close_periods")
def close_periods() -> dict:
    """Hourly: keep the result of each calendar period that has just closed (idempotent)."""
    from apm import period_results

    return period_results.close_all()
