"""Services registered from ``.ops.yaml``: service, versions, sensors, SLO, ingest keys."""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import models

from ops.servicedef import DefinitionError, parse_definition


class Service(models.Model):
    """A registered service; ``document`` is the current definition (the YAML as data)."""

    id = models.CharField(max_length=100, primary_key=True)
    owner = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    document = models.JSONField()
    source = models.TextField(blank=True, help_text="The YAML text as registered, when given.")
    version = models.PositiveIntegerField(default=1)
    sdk_dropped_samples = models.PositiveBigIntegerField(
        default=0,
        editable=False,
        help_text="Samples the service's senders dropped before sending (buffer full), as "
        "they reported them (X-HMS-Dropped).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.id

    def clean(self):
        """The stored document must itself be a valid definition with the same id."""
        try:
            definition = parse_definition(self.source or self.document)
        except DefinitionError as exc:
            raise ValidationError(
                {"document": [f"{k}: {m}" for k, v in exc.errors.items() for m in v]}
            ) from None
        if self.id and definition.id != self.id:
            raise ValidationError({"document": [f"id is {definition.id!r}, expected {self.id!r}"]})


class ServiceVersion(models.Model):
    """A definition a service had before it was registered again (nothing is overwritten)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    document = models.JSONField()
    source = models.TextField(blank=True)
    registered_at = models.DateTimeField()
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "version"], name="ops_service_version_unique"
            )
        ]

    def __str__(self):
        return f"{self.service_id} v{self.version}"


class Sensor(models.Model):
    """A metric the service reports; with a ``scrape_url`` it is also scraped."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="sensors")
    name = models.CharField(max_length=200)
    scrape_url = models.URLField(max_length=2000, blank=True)
    help = models.CharField(max_length=500, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    last_scrape_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_sample_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="ops_sensor_unique_name")
        ]

    def __str__(self):
        return f"{self.service_id}/{self.name}"


class SLO(models.Model):
    """The objective: ``percentile`` of ``target`` over ``window_seconds`` ≤ ``threshold``.

    ``state``/``value``/``since`` are written by the evaluator (``ops.slo``).
    """

    class State(models.TextChoices):
        HEALTHY = "healthy", "healthy"
        BREACHED = "breached", "breached"
        NO_DATA = "no_data", "no data"
        # 1 <= samples in the window < min_samples: no incident, no action (docs/VERDICTS.md).
        INSUFFICIENT_DATA = "insufficient_data", "insufficient data"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slos")
    target = models.CharField(max_length=200)
    threshold = models.FloatField()
    window_seconds = models.PositiveIntegerField()
    percentile = models.FloatField(default=95.0)
    objective = models.FloatField(
        null=True, blank=True, help_text="Percent of samples within the threshold (error budget)."
    )
    budget_window = models.CharField(
        max_length=16, blank=True, help_text="30d (rolling), month or quarter; set with objective."
    )
    min_samples = models.PositiveIntegerField(
        default=5, help_text="Samples the window needs before the SLO is judged (.ops.yaml)."
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.NO_DATA)
    value = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Samples in the window at the last evaluation."
    )
    in_maintenance = models.BooleanField(
        default=False, help_text="The last evaluation fell inside a maintenance window."
    )
    since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SLO"
        ordering = ["service", "target"]
        constraints = [
            models.UniqueConstraint(fields=["service", "target"], name="ops_slo_unique_target")
        ]

    def __str__(self):
        return f"{self.service_id}: p{self.percentile:g}({self.target}) ≤ {self.threshold:g}"


class SLOStateChange(models.Model):
    """One transition of an SLO, and the durable hand-off of what follows from it.

    The evaluator commits the row; ``ops.slo_handoff`` then audits it and opens or
    resolves the incident in the service's own transaction, setting ``handled_at``.
    A row still unhandled at ``handoff_due_at`` is sent again by the beat's sweep.
    """

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=SLO.State.choices)
    to_state = models.CharField(max_length=20, choices=SLO.State.choices)
    value = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(null=True, blank=True)
    in_maintenance = models.BooleanField(
        default=False, help_text="Inside a maintenance window: no incident, no action."
    )
    at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handoff_due_at = models.DateTimeField(null=True, blank=True)
    handoff_attempts = models.PositiveIntegerField(default=0)
    handoff_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["slo", "-at"], name="ops_slochange_slo_at"),
            models.Index(
                fields=["handoff_due_at"],
                name="ops_slochange_unhandled",
                condition=models.Q(handled_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.slo.service_id}: {self.from_state} → {self.to_state} @ {self.at:%H:%M:%S}"


INGEST_KEY_PREFIX = "hmsi_"


def hash_ingest_key(key: str) -> str:
    """Keys are 32 random bytes, so a plain SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


class IngestKey(models.Model):
    """A per-service key that may only push metrics for its service. Only the hash is stored."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="ingest_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=20, help_text="First characters, to recognise a key.")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "-created_at"]

    def __str__(self):
        return f"{self.service_id} {self.hint}…"

    @staticmethod
    def generate() -> str:
        return INGEST_KEY_PREFIX + secrets.token_urlsafe(32)
