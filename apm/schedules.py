"""Each baseline's ``schedule`` as one django-celery-beat ``PeriodicTask`` (UTC crontab).

``sync`` runs inside ``Baseline.save``'s transaction and the delete hook in
``apm.signals``, so the beat table never disagrees with the baselines.
"""

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apm import cron

TASK_NAME = "apm.tasks.run_scheduled_baseline"


def task_name(baseline_id: int) -> str:
    return f"apm baseline {baseline_id}"


def _crontab(expression: str) -> CrontabSchedule:
    minute, hour, day_of_month, month_of_year, day_of_week = cron.fields(expression)
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": "UTC",
    }
    return CrontabSchedule.objects.filter(**fields).first() or CrontabSchedule.objects.create(
        **fields
    )


def sync(baseline) -> PeriodicTask:
    """Create or update the baseline's periodic task (enabled iff the baseline is active)."""
    defaults = {
        "task": TASK_NAME,
        "crontab": _crontab(baseline.schedule),
        "interval": None,
        "args": json.dumps([baseline.pk]),
        "kwargs": "{}",
        "enabled": baseline.active,
        "description": f"Watchdog for {baseline.program.code} / {baseline.name}",
    }
    task, _ = PeriodicTask.objects.update_or_create(name=task_name(baseline.pk), defaults=defaults)
    if baseline.periodic_task_id != task.pk:
        type(baseline).objects.filter(pk=baseline.pk).update(periodic_task=task)
        baseline.periodic_task = task
    return task


def remove(baseline) -> None:
    PeriodicTask.objects.filter(name=task_name(baseline.pk)).delete()
