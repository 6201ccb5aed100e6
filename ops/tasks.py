from celery import shared_task

from ops import services
from ops.outbox.tasks import dispatch_due_notifications, send_notification  # noqa: F401


@shared_task
def record_heartbeat() -> str:
    return services.record_heartbeat().beat_at.isoformat()
