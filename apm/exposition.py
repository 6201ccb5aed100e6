"""APM verdicts as Prometheus gauges, read at scrape time.

Two statements per scrape whatever the number of baselines: the latest
deviation of every active baseline (one statement with a correlated
subquery on the ``(baseline, -evaluated_at)`` index) and the open
escalations grouped by program and level. Backfilled runs are never the
latest verdict.

Labels are bounded by the configuration, not by traffic: ``program`` (the
program code), ``baseline`` (the baseline name, unique per program) and, for
the state gauges, ``status`` / ``level`` from the model's fixed choices.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery
from prometheus_client.core import GaugeMetricFamily

BASELINE_LABELS = ["program", "baseline"]


def _latest_deviations():
    from apm.models import Baseline, Deviation

    latest = (
        Deviation.objects.live().filter(baseline=OuterRef("pk")).order_by("-evaluated_at", "-id")
    )
    return (
        Baseline.objects.filter(active=True)
        .annotate(
            latest_actual=Subquery(latest.values("actual")[:1]),
            latest_pct=Subquery(latest.values("deviation_pct")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
        )
        .values_list("program__code", "name", "latest_actual", "latest_pct", "latest_status")
        .order_by("program__code", "name")
    )


class VerdictCollector:
    """``hms_baseline_*`` and ``hms_escalations_open``."""

    def describe(self):
        # Describing without querying keeps registration free of database access.
        return []

    def collect(self):
        from apm.models import Deviation, Escalation

        actual = GaugeMetricFamily(
            "hms_baseline_actual",
            "The latest measured value of each active baseline (absent when it had no data).",
            labels=BASELINE_LABELS,
        )
        deviation = GaugeMetricFamily(
            "hms_baseline_deviation_pct",
            "The latest deviation of each active baseline in percent (positive is worse).",
            labels=BASELINE_LABELS,
        )
        status = GaugeMetricFamily(
            "hms_baseline_status",
            "1 for the status of each active baseline's latest verdict, 0 for the others.",
            labels=[*BASELINE_LABELS, "status"],
        )
        statuses = [choice.value for choice in Deviation.Status]
        for program, name, value, pct, latest in _latest_deviations():
            if latest is None:
                continue  # never run: no verdict to export
            if value is not None:
                actual.add_metric([program, name], value)
            deviation.add_metric([program, name], pct)
            for candidate in statuses:
                status.add_metric([program, name, candidate], 1.0 if candidate == latest else 0.0)
        yield actual
        yield deviation
        yield status

        escalations = GaugeMetricFamily(
            "hms_escalations_open",
            "Open (or acknowledged, not resolved) escalations by program and level.",
            labels=["program", "level"],
        )
        rows = (
            Escalation.objects.filter(status__in=Escalation.OPEN_STATUSES)
            .values_list("baseline__program__code", "level")
            .annotate(n=Count("id"))
            .order_by()
        )
        for program, level, n in rows:
            escalations.add_metric([program, level], n)
        yield escalations
