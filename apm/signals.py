"""A deleted baseline takes its periodic task with it (same transaction as the delete)."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from apm import schedules
from apm.models import Baseline


@receiver(post_delete, sender=Baseline, dispatch_uid="apm.baseline.remove_schedule")
def remove_schedule(sender, instance, **kwargs):
    schedules.remove(instance)
