"""Incidents and the playbook action runs they cause (see docs/PLAYBOOK.md)."""

from django.db import models
from django.db.models import Q

from ops.models.service import SLO, Service


class Incident(models.Model):
    """Something went wrong for a service: an SLO breach (``slo``) or a named ``condition``.

    At most one open incident per service and SLO (a database constraint), so a
    breach reported twice opens one incident. ``cooldown_until`` is set when it
    is resolved: a new breach before then opens an incident whose corrective
    actions are skipped (no flapping), though ``always`` steps still run.
    """

    class State(models.TextChoices):
        OPEN = "open", "open"
        RESOLVED = "resolved", "resolved"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incidents")
    slo = models.ForeignKey(
        SLO, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    condition = models.CharField(max_length=300, default="slo_breach")
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    value = models.FloatField(null=True, blank=True, help_text="The SLO value that opened it.")
    cooldown_until = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(
        default=dict, blank=True, help_text="What opened it, e.g. the event's fields (pod, ...)."
    )
    in_cooldown = models.BooleanField(
        default=False, help_text="Opened during the previous incident's cooldown: actions skipped."
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "condition"],
                condition=Q(state="open"),
                name="ops_incident_one_open_per_slo",
            )
        ]
        indexes = [models.Index(fields=["service", "state"], name="ops_incident_service_state")]

    def __str__(self):
        return f"{self.service_id} #{self.pk} {self.condition} ({self.state})"


class ActionRun(models.Model):
    """One action of one playbook step for one incident; runs at most once.

    ``step`` is the step's index in the playbook, ``position`` the action's
    index inside the step (``isolate pod & page CIGIE`` has two). The unique
    constraint plus the claim (a conditional UPDATE from ``pending``) make a
    twice-delivered task a no-op. ``detail`` keeps every attempt, with the
    exact Kubernetes request and answer (or the dry-run request).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        SKIPPED = "skipped", "skipped"

    #: What an incident's timeline shows of each run (admin inline and API).
    TIMELINE_FIELDS = (
        "step",
        "position",
        "trigger",
        "action",
        "arguments",
        "status",
        "due_at",
        "attempts",
        "started_at",
        "finished_at",
        "detail",
    )

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    step = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=40, help_text="slo_breach, still_breach_after, ...")
    action = models.CharField(max_length=40)
    arguments = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["incident", "step", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "step", "position"], name="ops_actionrun_once_per_step"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="ops_actionrun_due")]

    def __str__(self):
        return f"incident {self.incident_id} step {self.step}.{self.position} {self.action}"

    def while_held(self):
        """This run's row for as long as the attempt this object was loaded for holds it
        (``running``, the same attempt number): the fence of every write a worker makes,
        so a worker whose lease was taken over writes nothing."""
        return ActionRun.objects.filter(
            pk=self.pk, status=self.Status.RUNNING, attempts=self.attempts
        )
