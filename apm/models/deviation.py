from django.db import models

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline


class DeviationQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"


class Deviation(models.Model):
    """One watchdog evaluation of a baseline, with the evidence to answer "why is it red?"."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        BREACH = "breach", "Breach"
        NO_DATA = "no_data", "No data"
        ERROR = "error", "Error"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="deviations")
    evaluated_at = models.DateTimeField(help_text="The moment the probe measured.")
    actual = models.FloatField(null=True, blank=True, help_text="Null when there was no data.")
    deviation_pct = models.FloatField(help_text="Positive is worse; 100 when no data or error.")
    status = models.CharField(max_length=16, choices=Status.choices)
    evidence = models.JSONField(default=dict)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    slot = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Cron slot of a scheduled run (one deviation per slot); empty if manual.",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = DeviationQuerySet.as_manager()

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [
            models.Index(fields=["baseline", "-evaluated_at"], name="apm_dev_baseline_latest")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "slot"],
                condition=models.Q(slot__isnull=False),
                name="apm_deviation_one_per_slot",
            )
        ]

    def __str__(self):
        return f"{self.baseline.name} @ {self.evaluated_at:%Y-%m-%d %H:%M} {self.status}"
