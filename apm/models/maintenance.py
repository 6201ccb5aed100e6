"""Maintenance windows (silences): a planned span when a program, a baseline or a
service is measured but never escalated, notified or acted on (docs/VERDICTS.md).

The model lives in ``apm`` because it points at programs and baselines; a window
on an OPS service is a foreign key to ``ops.Service``. ``ops`` never imports
``apm``: it asks ``ops.maintenance.services_in_maintenance``, a hook this app
registers in ``ApmConfig.ready`` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline
from apm.models.program import Program

WEEK = timedelta(days=7)


class MaintenanceWindowQuerySet(ScopedQuerySet):
    """Scoped like the other APM rows: staff see and edit their programs' windows.

    A window on an OPS service belongs to no program: everyone who reads
    everything sees it; writing one takes a superuser or ``apm.silence_service``.
    ``visible_to`` / ``editable_by`` are ``ScopedQuerySet``'s; only ownership differs.
    """

    def _owned_by(self, user):
        groups = user.groups.all()
        owned = Q(program__owner_group__in=groups) | Q(baseline__program__owner_group__in=groups)
        if user.has_perm("apm.silence_service"):
            owned |= Q(service__isnull=False)
        return self.filter(owned)

    def may_cover(self, at: datetime):
        """Windows that can contain ``at``: one-off ones around it, weekly ones begun by then."""
        once = Q(recurrence=MaintenanceWindow.Recurrence.NONE, starts_at__lte=at, ends_at__gt=at)
        weekly = Q(recurrence=MaintenanceWindow.Recurrence.WEEKLY, starts_at__lte=at)
        return self.filter(once | weekly)

    def covering(self, at: datetime) -> list[MaintenanceWindow]:
        return [w for w in self.may_cover(at) if w.covers(at)]


class MaintenanceWindow(models.Model):
    """``starts_at``..``ends_at`` (end excluded) over exactly one program, baseline or service.

    ``weekly``: the same span again every 7 days (UTC, so a local-time window moves by
    an hour across a daylight-saving change), until the window is deleted.
    """

    class Recurrence(models.TextChoices):
        NONE = "", "once"
        WEEKLY = "weekly", "weekly"

    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.CASCADE, related_name="maintenance"
    )
    baseline = models.ForeignKey(
        Baseline, null=True, blank=True, on_delete=models.CASCADE, related_name="maintenance"
    )
    service = models.ForeignKey(
        "ops.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    recurrence = models.CharField(
        max_length=10, choices=Recurrence.choices, default=Recurrence.NONE, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MaintenanceWindowQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        permissions = [("silence_service", "Can put OPS services in maintenance")]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="apm_maint_span")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(program__isnull=False, baseline__isnull=True, service__isnull=True)
                    | Q(program__isnull=True, baseline__isnull=False, service__isnull=True)
                    | Q(program__isnull=True, baseline__isnull=True, service__isnull=False)
                ),
                name="apm_maintenance_exactly_one_scope",
                violation_error_message="Choose exactly one of program, baseline or service.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="apm_maintenance_ends_after_start",
                violation_error_message="ends_at must be after starts_at.",
            ),
        ]

    def __str__(self):
        span = f"{self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} UTC"
        return f"{self.scope_label}: {span}"

    @property
    def scope_label(self) -> str:
        if self.program_id:
            return f"program {self.program.code}"
        if self.baseline_id:
            return f"baseline {self.baseline.name}"
        return f"service {self.service_id}"

    def clean(self):
        super().clean()
        scopes = [self.program_id, self.baseline_id, self.service_id]
        if sum(s is not None for s in scopes) != 1:
            raise ValidationError(
                {"program": "Choose exactly one of program, baseline or service."}
            )
        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                raise ValidationError({"ends_at": "must be after starts_at."})
            if self.recurrence == self.Recurrence.WEEKLY and self.ends_at - self.starts_at >= WEEK:
                raise ValidationError(
                    {"recurrence": "a weekly window must be shorter than a week."}
                )

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` falls inside this window (or one of its weekly repeats)."""
        if at < self.starts_at:
            return False
        offset = at - self.starts_at
        if self.recurrence == self.Recurrence.WEEKLY:
            offset %= WEEK
        return offset < self.ends_at - self.starts_at

    def spans(self, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        """The spans (start, end) of this window that overlap ``[since, until)``."""
        length = self.ends_at - self.starts_at
        if self.recurrence != self.Recurrence.WEEKLY:
            starts = [self.starts_at]
        else:
            first = self.starts_at
            if since > first + length:
                first += WEEK * ((since - first - length) // WEEK)
            starts = []
            while first < until:
                starts.append(first)
                first += WEEK
        return [(s, s + length) for s in starts if s < until and s + length > since]
