from django.db import IntegrityError, models, transaction

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline


class DeviationQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"

    def live(self):
        """Every run but backfills: what "latest", current state and escalations read."""
        return self.exclude(trigger=Deviation.Trigger.BACKFILL)

    def counted(self):
        """The runs that count red or green in trends, periods, policies and the review:
        neither inside a maintenance window nor ``insufficient_data``."""
        return self.filter(in_maintenance=False).exclude(status=Deviation.Status.INSUFFICIENT_DATA)


class Deviation(models.Model):
    """One watchdog evaluation of a baseline, with the evidence to answer "why is it red?"."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        BREACH = "breach", "Breach"
        NO_DATA = "no_data", "No data"
        ERROR = "error", "Error"
        # 1 <= samples < the baseline's min_samples: recorded with the count, never red,
        # never escalated, never counted red or green (docs/VERDICTS.md).
        INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        # A past-dated API run (``at`` older than HMS_CLOCK_SKEW_SECONDS): kept in the
        # ledger, never "latest", never opens, counts, raises or resolves an escalation.
        BACKFILL = "backfill", "Backfill"

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="deviations")
    evaluated_at = models.DateTimeField(help_text="The moment the probe measured.")
    actual = models.FloatField(null=True, blank=True, help_text="Null when there was no data.")
    deviation_pct = models.FloatField(help_text="Positive is worse; 100 when no data or error.")
    status = models.CharField(max_length=20, choices=Status.choices)
    evidence = models.JSONField(default=dict)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    slot = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "The request a run answers: a scheduled run's cron slot, or when a queued run "
            "was asked for (one deviation per slot); empty for a run made at once."
        ),
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Data quality: how much the verdict rests on (docs/VERDICTS.md).
    sample_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Samples (or SQL rows) the probe read; null: unknown."
    )
    newest_sample_at = models.DateTimeField(
        null=True, blank=True, help_text="The newest sample the probe read, when it knows."
    )
    completeness = models.FloatField(
        null=True,
        blank=True,
        help_text="Fraction of the expected samples that were there (0..1); null: unknown.",
    )
    source = models.CharField(
        max_length=500, blank=True, help_text="The probe kind and what it read."
    )
    in_maintenance = models.BooleanField(
        default=False,
        help_text="Measured inside a maintenance window: never escalated, left out of trends.",
    )

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

    def record(self) -> bool:
        """INSERT this run; False, with nothing written, when it is a scheduled run whose
        cron slot another delivery already recorded (only slots are unique)."""
        if self.slot is None:
            self.save()
            return True
        try:
            # A savepoint inside the caller's transaction, so a lost race leaves it usable.
            with transaction.atomic():
                self.save()
        except IntegrityError:
            self.pk = None
            return False
        return True
