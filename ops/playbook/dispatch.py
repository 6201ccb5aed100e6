"""Sending planned action runs to a worker, by task name (services never import tasks)."""

from __future__ import annotations

from celery import current_app
from django.utils import timezone

RUN_TASK = "ops.tasks.run_playbook_action"


def send(runs) -> None:
    """Queue ``run_playbook_action`` for each ``(run id, due_at)``, counting down to its due time.

    Safe to send twice: the runner's claim executes a run once; a lost message is sent
    again by the beat sweep (``runner.dispatch_due``).
    """
    now = timezone.now()
    for pk, due in runs:
        countdown = max(0.0, (due - now).total_seconds())
        current_app.send_task(RUN_TASK, (pk,), countdown=countdown)
