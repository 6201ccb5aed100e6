from django.db import models

from apm.models.baseline import Baseline


class PeriodResult(models.Model):
    """A closed calendar period's verdict on a baseline, kept once the period has ended.

    Computed by ``apm.period_results`` (idempotent: one row per baseline, kind,
    zone and start), from the probe over the whole period and the period's live
    runs. docs/VERDICTS.md, "Period results", says what each status means.
    """

    class Status(models.TextChoices):
        KEPT = "kept", "Kept"
        MISSED = "missed", "Missed"
        INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"
        MAINTENANCE = "maintenance", "Maintenance"

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="period_results")
    kind = models.CharField(max_length=16, choices=Baseline.Period.choices)
    period_tz = models.CharField(max_length=64)
    label = models.CharField(max_length=16, help_text="2026-11, 2027Q1 or FY2027.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="The first instant after the period.")
    status = models.CharField(max_length=20, choices=Status.choices)
    value = models.FloatField(null=True, blank=True, help_text="The probe over the whole period.")
    deviation_pct = models.FloatField(null=True, blank=True)
    target_value = models.FloatField(help_text="The target the period was judged against.")
    threshold_pct = models.FloatField()
    evaluations = models.PositiveIntegerField(default=0, help_text="Live runs in the period.")
    breaches = models.PositiveIntegerField(default=0, help_text="Live runs that were red.")
    reason = models.CharField(max_length=500, blank=True)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["baseline", "-starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "kind", "period_tz", "starts_at"],
                name="apm_period_result_once",
            )
        ]

    def __str__(self):
        return f"{self.baseline.name} {self.label}: {self.status}"
