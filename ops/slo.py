"""The SLO evaluator: one pass decides every SLO with a bounded number of queries.

For each SLO, the ``percentile`` of its ``target`` metric over the window
``(at - window_seconds, at]`` (all series of that name) is compared with
``threshold``: above it is ``breached``, at or below is ``healthy``, no sample
is ``no_data``. PostgreSQL computes every percentile in one grouped
``percentile_cont`` query; SQLite fetches the window's values in one query and
uses ``ops.metrics.percentile`` — the same linear interpolation.

Idempotent under double delivery: a transition is a conditional UPDATE on
(state, evaluated_at < at), and its ``SLOStateChange`` row is written only when
that UPDATE changed a row, so two passes never record the same change twice and
an older pass never overwrites a newer one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Q, Value, When
from django.utils import timezone

from ops.metrics import percentile
from ops.models import SLO, Sample, Series, SLOStateChange

_UPDATE_CHUNK = 500


@dataclass
class PassResult:
    at: datetime
    evaluated: int = 0
    changes: list[SLOStateChange] = field(default_factory=list)


def decide(value: float | None, threshold: float) -> str:
    if value is None:
        return SLO.State.NO_DATA
    return SLO.State.BREACHED if value > threshold else SLO.State.HEALTHY


def _percentiles_postgresql(at: datetime) -> dict[int, float]:
    slo, series, sample = (m._meta.db_table for m in (SLO, Series, Sample))
    sql = f"""
        SELECT slo.id, percentile_cont(slo.percentile / 100.0) WITHIN GROUP (ORDER BY smp.value)
        FROM {slo} AS slo
        JOIN {series} AS se ON se.service_id = slo.service_id AND se.name = slo.target
        JOIN {sample} AS smp ON smp.series_id = se.id
             AND smp.ts > %s - slo.window_seconds * interval '1 second' AND smp.ts <= %s
        GROUP BY slo.id
    """  # noqa: S608 - table names come from model metadata
    with connection.cursor() as cursor:
        cursor.execute(sql, (at, at))
        return dict(cursor.fetchall())


def _percentiles_python(slos: list[dict], at: datetime) -> dict[int, float]:
    if not slos:
        return {}
    longest = max(s["window_seconds"] for s in slos)
    windows = {
        s["id"]: (at - timedelta(seconds=s["window_seconds"]), s["percentile"]) for s in slos
    }
    rows = (
        Sample.objects.filter(
            ts__gt=at - timedelta(seconds=longest),
            ts__lte=at,
            series__service__slos__target=F("series__name"),
        )
        .values_list("series__service__slos__id", "ts", "value")
        .order_by("value")
    )
    values: dict[int, list[float]] = defaultdict(list)
    for slo_id, ts, value in rows.iterator(chunk_size=5000):
        if slo_id in windows and ts > windows[slo_id][0]:
            values[slo_id].append(value)
    return {slo_id: percentile(vals, windows[slo_id][1]) for slo_id, vals in values.items()}


def _store_values(values: dict[int, float | None], at: datetime) -> None:
    guard = Q(evaluated_at__isnull=True) | Q(evaluated_at__lt=at)
    if connection.vendor == "postgresql":
        table = SLO._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET value = v.value, evaluated_at = %s "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::double precision[]) AS v(id, value) "
                "WHERE s.id = v.id AND (s.evaluated_at IS NULL OR s.evaluated_at < %s)",
                (at, list(values), list(values.values()), at),
            )
        return
    ids = list(values)
    for start in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[start : start + _UPDATE_CHUNK]
        whens = [When(pk=pk, then=Value(values[pk])) for pk in chunk]
        SLO.objects.filter(guard, pk__in=chunk).update(
            value=Case(*whens, default=None, output_field=FloatField()), evaluated_at=at
        )


def evaluate_all(at: datetime | None = None) -> PassResult:
    """Decide every SLO at ``at`` (default now); record and return the state changes."""
    at = at or timezone.now()
    result = PassResult(at=at)
    slos = list(SLO.objects.values("id", "threshold", "window_seconds", "percentile", "state"))
    if connection.vendor == "postgresql":
        values = _percentiles_postgresql(at)
    else:
        values = _percentiles_python(slos, at)
    all_values = {s["id"]: values.get(s["id"]) for s in slos}
    guard = Q(evaluated_at__isnull=True) | Q(evaluated_at__lt=at)
    with transaction.atomic():
        for slo in slos:
            value = all_values[slo["id"]]
            new_state = decide(value, slo["threshold"])
            if new_state == slo["state"]:
                continue
            claimed = SLO.objects.filter(guard, pk=slo["id"], state=slo["state"]).update(
                state=new_state, since=at, value=value, evaluated_at=at
            )
            if claimed:
                result.changes.append(
                    SLOStateChange.objects.create(
                        slo_id=slo["id"],
                        from_state=slo["state"],
                        to_state=new_state,
                        value=value,
                        at=at,
                    )
                )
        _store_values(all_values, at)
    result.evaluated = len(slos)
    return result
