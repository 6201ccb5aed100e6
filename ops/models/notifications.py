"""The notification outbox: one row per message to send, one row per attempt."""

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """A message waiting for, or done with, delivery through a ``Channel``.

    Written in the caller's transaction by ``ops.outbox.enqueue``; a worker
    claims it (``pending`` -> ``sending`` with a fresh ``claim_token`` and a
    ``lease_until``), sends outside any transaction and settles it only if it
    still holds the claim. ``dedupe_key`` makes enqueuing the same event twice
    a no-op.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed (gave up)"

    channel = models.ForeignKey("ops.Channel", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=300, blank=True)
    message = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    budget_start = models.PositiveIntegerField(
        default=0, help_text="attempts already used when the current retry budget began"
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    source_topic = models.CharField(max_length=100, blank=True)
    source_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="ops_notif_due"),
            models.Index(fields=["status", "lease_until"], name="ops_notif_lease"),
            models.Index(fields=["source_topic", "source_id"], name="ops_notif_source"),
        ]

    def __str__(self):
        return f"#{self.pk} to {self.channel_id}: {self.status}"

    @property
    def marker(self) -> str:
        """The identity sent along with the message so a peer can recognise a re-send."""
        return f"hms-notification-{self.pk}"


class NotificationAttempt(models.Model):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "in progress"
        SENT = "sent", "sent"
        TRANSIENT_ERROR = "transient_error", "transient error"
        PERMANENT_ERROR = "permanent_error", "permanent error"
        INTERRUPTED = "interrupted", "interrupted (worker lost, outcome unknown)"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempt_log"
    )
    claim_token = models.UUIDField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    maybe_delivered = models.BooleanField(
        default=False, help_text="the peer may have delivered although this attempt failed"
    )
    error = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("started_at", "id")

    def __str__(self):
        return f"attempt on #{self.notification_id} at {self.started_at:%H:%M:%S}: {self.outcome}"
