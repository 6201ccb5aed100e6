from celery import shared_task

from ops import services


@shared_task
def record_heartbeat() -> str:
    return services.record_heartbeat().beat_at.isoformat()
