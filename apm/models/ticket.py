"""Management-layer tickets: what the seed's "HMS-ACT" receives (an escalation, a review)."""

from django.conf import settings
from django.db import models

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline
from apm.models.escalation import Level


class TicketQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"


class Ticket(models.Model):
    """One item on management's desk; created idempotently on ``dedupe_key``."""

    class Kind(models.TextChoices):
        ESCALATION = "escalation", "escalation"
        LEADERSHIP_REVIEW = "leadership_review", "leadership review"

    class Status(models.TextChoices):
        OPEN = "open", "open"
        CLOSED = "closed", "closed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(max_length=300)
    level = models.CharField(
        max_length=10,
        blank=True,
        choices=Level.choices,
        help_text="The escalation's level when the ticket was opened (the seed's severity).",
    )
    body = models.TextField(blank=True)
    baseline = models.ForeignKey(
        Baseline, null=True, blank=True, on_delete=models.CASCADE, related_name="tickets"
    )
    escalation = models.ForeignKey(
        "apm.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    policy = models.ForeignKey(
        "apm.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    dedupe_key = models.CharField(
        max_length=255, unique=True, help_text="The event this ticket is for: never two tickets."
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.kind}: {self.title}"
