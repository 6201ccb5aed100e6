"""Metric storage fit for time-window queries: one ``Series`` per (service, name, labels),
many ``Sample`` rows keyed on (series, ts)."""

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
    """One value of one series at one instant; (series, ts) is the key, no surrogate id.

    On PostgreSQL the table is partitioned by day and its key carries the value
    (``INCLUDE (value)``), see ``ops/metrics/store/partitions.py``; on SQLite it is a
    plain table with the same key. Only ``ops.metrics.store`` reads and writes it.
    """

    pk = models.CompositePrimaryKey("series", "ts")
    # No separate FK index: the (series, ts) key serves lookups by series too.
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, related_name="samples", db_index=False
    )
    ts = models.DateTimeField()
    value = models.FloatField()

    def __str__(self):
        return f"{self.series_id} {self.ts.isoformat()} {self.value}"
