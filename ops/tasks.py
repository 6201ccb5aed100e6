"""Thin Celery wrappers around ``ops`` services (every task is safe to run twice)."""

from datetime import UTC, datetime

from celery import shared_task

from ops import metrics, scrape, services, slo
from ops.budget import evaluate as budget
from ops.outbox.tasks import dispatch_due_notifications, send_notification  # noqa: F401
from ops.playbook import runner, triggers


@shared_task
def record_heartbeat() -> str:
    return services.record_heartbeat().beat_at.isoformat()


@shared_task
def evaluate_slos(at: float | None = None) -> dict:
    """One evaluation pass at ``at`` (epoch seconds; beat sends none: now)."""
    when = datetime.fromtimestamp(at, tz=UTC) if at is not None else None
    result = slo.evaluate_all(when)
    # The same beat drives the playbook sweep: due steps (still_breach_after, retries)
    # are found in the database, so a restarted worker loses none.
    conditions = triggers.evaluate_conditions(result.at)
    burns = budget.evaluate(result.at)
    due = runner.dispatch_due()
    return {
        "at": result.at.isoformat(),
        "evaluated": result.evaluated,
        "changes": len(result.changes),
        "condition_changes": conditions,
        "burn_changes": burns,
        "due_actions": due,
    }


@shared_task
def run_playbook_action(run_id: int) -> str:
    """Run one planned playbook action; a second delivery claims nothing and does nothing."""
    return runner.execute(run_id)


@shared_task
def scrape_sensors() -> dict:
    return scrape.scrape_all()


@shared_task
def purge_expired_samples() -> int:
    return metrics.purge_expired()
