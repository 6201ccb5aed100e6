"""Thin Celery wrappers around ``ops`` services (every task is safe to run twice)."""

from datetime import UTC, datetime

from celery import shared_task

from ops import metrics, scrape, services, slo, slo_handoff, slo_trigger
from ops.outbox.tasks import dispatch_due_notifications, send_notification  # noqa: F401
from ops.playbook import dispatch, runner


@shared_task
def record_heartbeat() -> str:
    return services.record_heartbeat().beat_at.isoformat()


@shared_task
def evaluate_slos(at: float | None = None) -> dict:
    """One evaluation pass at ``at`` (epoch seconds; beat sends none: now)."""
    return services.tick(datetime.fromtimestamp(at, tz=UTC) if at is not None else None)


@shared_task(name=slo_trigger.TRIGGER_TASK)
def evaluate_triggered_slos() -> dict:
    """The SLOs of the services whose samples were committed since the last triggered pass."""
    return slo_trigger.run(slo.evaluate_services)


@shared_task(name=slo_handoff.HANDOFF_TASK)
def hand_off_slo_changes(service_ids: list[str]) -> int:
    """Audit these services' SLO changes and open/resolve their incidents; safe to run twice."""
    return slo_handoff.hand_off_all(service_ids)


@shared_task(name=dispatch.RUN_TASK)
def run_playbook_action(run_id: int) -> str:
    """Run one planned playbook action; a second delivery claims nothing and does nothing."""
    return runner.execute(run_id)


@shared_task
def scrape_sensors() -> dict:
    return scrape.scrape_all()


@shared_task
def purge_expired_samples() -> dict:
    """Hourly: the metrics store's retention and partitions ahead."""
    return metrics.purge_expired().as_dict()


@shared_task
def demo_readings() -> int:
    """The demo services keep reporting (a periodic task only ``manage.py hms_demo`` adds)."""
    from ops import demo_history

    return demo_history.feed()


@shared_task
def repeat_pages() -> dict:
    """Beat: page again what ``page … repeat:`` asks for, while the incident stays open."""
    from ops.playbook import repeats

    return repeats.sweep()
