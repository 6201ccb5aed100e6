"""Metric storage fit for time-window queries: one ``Series`` per (service, name, labels),
many ``Sample`` rows indexed on (series, ts)."""

from django.db import models

from ops.models.service import Service


class Series(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=200)
    labels = models.JSONField(default=dict, blank=True)
    # Canonical JSON of ``labels`` (sorted keys), so (service, name, labels) can be unique.
    labels_key = models.CharField(max_length=2000, default="{}")

    class Meta:
        verbose_name_plural = "series"
        ordering = ["service", "name", "labels_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "name", "labels_key"], name="ops_series_unique"
            )
        ]

    def __str__(self):
        return f"{self.service_id}/{self.name}{self.labels_key if self.labels else ''}"


class Sample(models.Model):
    # No separate FK index: the (series, ts) index below serves lookups by series too.
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, related_name="samples", db_index=False
    )
    ts = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["series", "ts"], name="ops_sample_series_ts")]

    def __str__(self):
        return f"{self.series_id} {self.ts.isoformat()} {self.value}"
