"""Escalations (a broken promise someone must act on) and the routes that announce them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline
from apm.models.deviation import Deviation
from apm.models.program import Program


class Level(models.TextChoices):
    INFO = "info", "info"
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


LEVEL_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}


def level_rank(level: str) -> int:
    return LEVEL_RANK[Level(level)]


def level_for(deviation_pct: float, threshold_pct: float) -> str | None:
    """The level a deviation deserves (docs/ESCALATIONS.md).

    Above the threshold: critical (the seed's "> 20 % -> critical" with the
    default threshold 20); above half of it: warning; worse than the target at
    all: info; on or better than the target: ``None``.
    """
    if deviation_pct > threshold_pct:
        return Level.CRITICAL
    if deviation_pct > threshold_pct / 2:
        return Level.WARNING
    if deviation_pct > 0:
        return Level.INFO
    return None


class EscalationQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"

    def open(self):
        return self.filter(status__in=Escalation.OPEN_STATUSES)


class Escalation(models.Model):
    """A broken promise, open until resolved (by a person, or by the baseline going back to ok).

    At most one open (``open`` or ``acknowledged``) escalation per baseline, a
    database constraint: a repeated breach updates it (evidence, count, maybe
    level) instead of opening another.
    """

    Level = Level

    class Status(models.TextChoices):
        OPEN = "open", "open"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        RESOLVED = "resolved", "resolved"

    class Source(models.TextChoices):
        WATCHDOG = "watchdog", "watchdog"
        MANUAL = "manual", "Escalate.send"

    OPEN_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=10, choices=Level.choices)
    message = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=10, choices=Source.choices)
    opened_at = models.DateTimeField()
    red_since = models.DateTimeField(
        help_text="Start of the red streak: the first red evaluation this escalation covers."
    )
    deviation = models.ForeignKey(
        Deviation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The latest red evaluation: the evidence.",
    )
    breach_count = models.PositiveIntegerField(
        default=0, help_text="Red evaluations recorded on this escalation."
    )
    last_red_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    auto_resolved = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    snoozed_until = models.DateTimeField(
        null=True, blank=True, help_text="No reminders until then (apm.reminders)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="apm_escalation_one_open_per_baseline",
                violation_error_message="This baseline already has an open escalation.",
            )
        ]
        indexes = [models.Index(fields=["status", "red_since"], name="apm_esc_status_red")]

    def __str__(self):
        return f"#{self.pk} {self.level} {self.baseline.name} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def program(self):
        return self.baseline.program


class EscalationRoute(models.Model):
    """Data, not code: escalations of ``program`` (empty = every program) at
    ``min_level`` or above are announced on ``channel``."""

    program = models.ForeignKey(
        Program,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation_routes",
        help_text="Empty: every program.",
    )
    min_level = models.CharField(max_length=10, choices=Level.choices, default=Level.CRITICAL)
    channel = models.ForeignKey("ops.Channel", on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    remind_every = models.DurationField(
        null=True,
        blank=True,
        help_text="While open and not acknowledged, remind this often (e.g. 1 day). Empty: never.",
    )
    max_reminders = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop after this many reminders. Empty: no limit."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program__code", "channel__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "channel"],
                name="apm_route_unique_program_channel",
                violation_error_message="This program already has a route to this channel.",
            )
        ]

    def __str__(self):
        scope = self.program.code if self.program_id else "all programs"
        return f"{scope} ≥ {self.min_level} → {self.channel.name}"

    def clean(self):
        super().clean()
        if self.remind_every is not None and self.remind_every.total_seconds() < 60:
            raise ValidationError({"remind_every": "Remind at most once a minute (e.g. 1 day)."})
        if self.program_id is None and self.channel_id is not None:
            twins = EscalationRoute.objects.filter(program__isnull=True, channel_id=self.channel_id)
            if twins.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"channel": "An all-programs route to this channel already exists."}
                )

    def accepts(self, level: str) -> bool:
        return self.active and level_rank(level) >= level_rank(self.min_level)
