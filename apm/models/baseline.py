from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction

from apm import cron, periods, schedules
from apm.models import baseline_rules
from apm.models.baseline_queries import BaselineQuerySet
from apm.models.program import Program
from apm.probes import ProbeError, ProbeKind, probe_for

DEFAULT_SCHEDULE = "0 2 * * *"


def validate_schedule(value: str) -> None:
    try:
        cron.next_after(value, datetime.now(UTC))  # also refuses "never fires"
    except cron.CronError as exc:
        raise ValidationError(f"not a valid cron schedule: {exc}") from None


def validate_period_tz(value: str) -> None:
    try:
        periods.zone(value)
    except periods.PeriodError as exc:
        raise ValidationError(str(exc)) from None


class Baseline(models.Model):
    """A promise: ``probe_query``, measured on ``schedule``, stays ``compare_op`` the target."""

    class CompareOp(models.TextChoices):
        LE = "le", "≤ (at most the target)"
        GE = "ge", "≥ (at least the target)"

    ProbeKind = ProbeKind

    class Period(models.TextChoices):
        ROLLING = periods.ROLLING, "Rolling (the query's own window)"
        MONTH = periods.MONTH, "Calendar month"
        QUARTER = periods.QUARTER, "Quarter"
        FISCAL_YEAR = periods.FISCAL_YEAR, "Fiscal year"

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="baselines")
    name = models.CharField(max_length=200)
    target_value = models.FloatField()
    compare_op = models.CharField(max_length=2, choices=CompareOp.choices, default=CompareOp.LE)
    probe_kind = models.CharField(
        max_length=16, choices=ProbeKind.choices, default=ProbeKind.PROMQL
    )
    probe_query = models.TextField()
    threshold_pct = models.FloatField(
        default=20,
        validators=[MinValueValidator(0)],
        help_text="A deviation above this many percent is a breach.",
    )
    min_samples = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text=(
            "Fewer samples than this (but at least one) is 'insufficient data', never red. "
            "1 keeps one reading enough (SQL: one row is one sample)."
        ),
    )
    count_query = models.TextField(
        blank=True,
        default="",
        max_length=5000,
        help_text=(
            "PromQL only, with min_samples above 1: the query that counts the samples the "
            "value rests on (e.g. sum(count_over_time(wait_days[7d]))). Blank: derived from a "
            "query with one FUNC_over_time(selector[range]) (docs/VERDICTS.md)."
        ),
    )
    schedule = models.CharField(
        max_length=100,
        default=DEFAULT_SCHEDULE,
        validators=[validate_schedule],
        help_text="Five-field cron, UTC (minute hour day-of-month month day-of-week).",
    )
    period = models.CharField(
        max_length=16,
        choices=Period.choices,
        default=Period.ROLLING,
        help_text=(
            "Judge the promise per calendar period: each run covers the period to date, "
            "each closed period keeps its result (docs/VERDICTS.md)."
        ),
    )
    period_tz = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_period_tz],
        help_text="IANA time zone the periods begin and end in (e.g. America/New_York).",
    )
    active = models.BooleanField(default=True)
    data_source = models.TextField(
        blank=True,
        max_length=2000,
        help_text="Where the numbers come from (system, table or report, who keeps it), "
        "as program staff vouch for it when they sign it off.",
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who last signed the data source off (apm.signoff.renew).",
    )
    validated_at = models.DateTimeField(null=True, blank=True, editable=False)
    probe_verified = models.BooleanField(
        default=False,
        editable=False,
        help_text="Whether the probe's source confirmed the query when it was saved.",
    )
    probe_note = models.CharField(max_length=1000, blank=True, editable=False)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="apm_baseline",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BaselineQuerySet.as_manager()

    class Meta:
        ordering = ["program__code", "name"]
        permissions = [("use_sql_probe", "Can save SQL probes (they read the monitor's database)")]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "name"],
                name="apm_baseline_unique_name_per_program",
                violation_error_message="This program already has a baseline with this name.",
            )
        ]

    def __str__(self):
        return f"{self.name} {self.get_compare_op_display().split()[0]} {self.target_value:g}"

    def save(self, *args, **kwargs):
        """Save and keep the django-celery-beat periodic task in step, in one transaction.

        A sign-off covers the data source as described and queried when it was given:
        when ``data_source``, ``probe_kind`` or ``probe_query`` change, it is cleared.
        """
        signed = getattr(self, "_signed_source", None)
        if self.validated_at and signed is not None and signed != self.signed_source:
            self.validated_at, self.validated_by = None, None
        with transaction.atomic():
            super().save(*args, **kwargs)
            schedules.sync(self)
        self._signed_source = self.signed_source

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_probe = (instance.probe_kind, instance.probe_query)
        instance._signed_source = instance.signed_source
        instance._checked_probe = instance.checked_probe if instance.probe_verified else None
        return instance

    def clean(self):
        super().clean()
        if self.target_value == 0:
            raise ValidationError(
                {"target_value": "A target of 0 is refused: percent deviation from 0 is undefined."}
            )
        self.check_min_samples()
        self.check_period()
        self.check_probe()

    def check_min_samples(self):
        baseline_rules.check_min_samples(self)

    def check_period(self):
        baseline_rules.check_period(self)

    def period_window(self, at: datetime):
        """The span a run at ``at`` covers: its period to date, ``None`` when rolling."""
        if self.period == self.Period.ROLLING:
            return None
        from apm.probes import Window

        period = periods.Period.containing(self.period, at, self.period_tz)
        return Window(period.start, at)

    def check_probe(self):
        """Ask the probe's source about ``probe_query``: refuse it, or record if it was verified.

        Skipped when a verified query is unchanged, so editing the schedule does
        not depend on Prometheus being up.
        """
        if not self.probe_query or self.probe_kind not in ProbeKind.values:
            return  # clean_fields() reports those
        if getattr(self, "_checked_probe", None) == self.checked_probe:
            return
        try:
            probe = probe_for(self.probe_kind)
        except ProbeError as exc:
            raise ValidationError({"probe_kind": str(exc)}) from None
        try:
            verification = probe.check(self.probe_query)
        except ValidationError as exc:
            raise ValidationError({"probe_query": exc.messages}) from None
        if self.count_query and verification.verified:
            try:
                verification = probe.check(self.count_query)
            except ValidationError as exc:
                raise ValidationError({"count_query": exc.messages}) from None
        self.probe_verified = verification.verified
        self.probe_note = verification.note[:1000]
        self._checked_probe = self.checked_probe if verification.verified else None

    @property
    def checked_probe(self) -> tuple:
        """What a verification covers: a change of any of it asks the source again."""
        return (self.probe_kind, self.probe_query, self.count_query)

    @property
    def signed_source(self) -> tuple:
        """What a sign-off vouches for: changing any of it voids the sign-off."""
        return (self.data_source, self.probe_kind, self.probe_query)

    def deviation_pct(self, actual: float) -> float:
        """Positive is worse: ``le`` (actual - target) / |target|; ``ge`` (target - actual) / ..."""
        gap = actual - self.target_value
        if self.compare_op == self.CompareOp.GE:
            gap = -gap
        return round(gap / abs(self.target_value) * 100, 6)

    @property
    def formula(self) -> str:
        denominator = "target" if self.target_value > 0 else "|target|"
        if self.compare_op == self.CompareOp.GE:
            return f"(target - actual) / {denominator} * 100"
        return f"(actual - target) / {denominator} * 100"
