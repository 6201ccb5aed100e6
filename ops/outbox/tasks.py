"""Thin Celery wrappers around ``ops.outbox.services``."""

from celery import shared_task

from ops.outbox import services


@shared_task(name=services.SEND_TASK)
def send_notification(notification_id: int) -> str:
    return services.deliver(notification_id)


@shared_task
def dispatch_due_notifications() -> dict:
    return services.dispatch_due()
