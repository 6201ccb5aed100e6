"""The SLO evaluator: one pass decides every SLO with a bounded number of queries.

For each SLO, the ``percentile`` of its ``target`` metric over the window
``(at - window_seconds, at]`` (all series of that name) is compared with
``threshold``: above it is ``breached``, at or below is ``healthy``, no sample
is ``no_data``, fewer than ``min_samples`` is ``insufficient_data`` (no incident,
no action: docs/VERDICTS.md). A service inside a maintenance window
(``ops.maintenance``) is still decided and stored, marked ``in_maintenance``;
the playbook then opens no corrective run. Every window is read from the metrics
store in one call (``window_stats``: value and sample count): on the database store
one ``percentile_cont`` statement on PostgreSQL, the same linear interpolation in
Python on SQLite.

Idempotent under double delivery: each pass first claims a fencing token (the
``slo-evaluator`` heartbeat row, moved forward only by a newer pass), so an
older or duplicate pass writes nothing; a transition is also a conditional
UPDATE on the old state, and its ``SLOStateChange`` row is written only when
that UPDATE changed a row.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Case, FloatField, IntegerField, Value, When
from django.utils import timezone

from ops import audit, maintenance
from ops.metrics.store import WindowQuery, get_store, percentile_statistic
from ops.models import SLO, SLOStateChange, WorkerHeartbeat
from ops.playbook import incidents

_UPDATE_CHUNK = 500
EVALUATOR = "slo-evaluator"
AUDIT_TOPIC = "ops.slo"
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class PassResult:
    at: datetime
    evaluated: int = 0
    stale: bool = False
    changes: list[SLOStateChange] = field(default_factory=list)


def decide(value: float | None, threshold: float, count: int | None = None, min_samples=1) -> str:
    """The verdict on the window: ``count`` samples whose percentile is ``value``.

    No sample is ``no_data``; 1..``min_samples - 1`` is ``insufficient_data`` (never
    breached, never healthy); otherwise the value against the threshold. ``count``
    None means the caller did not count (one value is then enough).
    """
    if value is None or count == 0:
        return SLO.State.NO_DATA
    if count is not None and count < min_samples:
        return SLO.State.INSUFFICIENT_DATA
    return SLO.State.BREACHED if value > threshold else SLO.State.HEALTHY


@dataclass(frozen=True)
class Row:
    pk: int
    service: str
    threshold: float
    state: str
    stored: float | None
    stored_count: int | None
    min_samples: int
    was_in_maintenance: bool
    value: float | None
    count: int


def _rows(at: datetime) -> list[Row]:
    """Every SLO with its window's percentile and sample count now.

    Two statements whatever the number of SLOs: the SLOs, then every window at once
    from the metrics store (``window_stats``: value, samples, newest per window).
    """
    slos = list(
        SLO.objects.values_list(
            "id", "service_id", "threshold", "state", "value", "sample_count", "min_samples",
            "in_maintenance", "target", "window_seconds", "percentile",
        )
    )  # fmt: skip
    if not slos:
        return []
    queries = [
        WindowQuery(service, target, window, at, percentile_statistic(pct), key=pk)
        for pk, service, *_, target, window, pct in slos
    ]
    stats = get_store().window_stats(queries)
    return [
        Row(*head[:8], stat.value, stat.samples) for head, stat in zip(slos, stats, strict=True)
    ]


def _claim_pass(at: datetime) -> bool:
    """Fencing token: only a pass newer than the last one may write (double delivery, races).

    The conditional UPDATE locks the marker row until commit, so two passes never
    write at the same time and an older pass that arrives late writes nothing.
    """
    WorkerHeartbeat.objects.get_or_create(
        name=EVALUATOR, defaults={"beat_at": _NEVER, "hostname": socket.gethostname()}
    )
    return bool(
        WorkerHeartbeat.objects.filter(name=EVALUATOR, beat_at__lt=at).update(
            beat_at=at, hostname=socket.gethostname()
        )
    )


def last_pass_at() -> datetime | None:
    at = WorkerHeartbeat.objects.filter(name=EVALUATOR).values_list("beat_at", flat=True).first()
    return None if at is None or at == _NEVER else at


def _store_values(values: dict[int, tuple[float | None, int]], at: datetime) -> None:
    """Write the SLOs whose value or sample count changed (unchanged rows are not rewritten
    every pass)."""
    if not values:
        return
    if connection.vendor == "postgresql":
        table = SLO._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET value = v.value, sample_count = v.n, "  # noqa: S608
                "evaluated_at = %s FROM unnest(%s::bigint[], %s::double precision[], "
                "%s::integer[]) AS v(id, value, n) WHERE s.id = v.id",
                (
                    at,
                    list(values),
                    [v for v, _ in values.values()],
                    [n for _, n in values.values()],
                ),
            )
        return
    ids = list(values)
    for start in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[start : start + _UPDATE_CHUNK]
        value_whens = [When(pk=pk, then=Value(values[pk][0])) for pk in chunk]
        count_whens = [When(pk=pk, then=Value(values[pk][1])) for pk in chunk]
        SLO.objects.filter(pk__in=chunk).update(
            value=Case(*value_whens, default=None, output_field=FloatField()),
            sample_count=Case(*count_whens, default=None, output_field=IntegerField()),
            evaluated_at=at,
        )


def _maintenance_flags(rows: list[Row], at: datetime) -> set[str]:
    """The services in maintenance now (one question per pass); flip the SLOs' flags and
    re-arm the playbook of the services whose window just ended."""
    inside = maintenance.services_in_maintenance({r.service for r in rows}, at)
    entered = [r.pk for r in rows if r.service in inside and not r.was_in_maintenance]
    left = [r for r in rows if r.service not in inside and r.was_in_maintenance]
    if entered:
        SLO.objects.filter(pk__in=entered).update(in_maintenance=True)
    if left:
        SLO.objects.filter(pk__in=[r.pk for r in left]).update(in_maintenance=False)
        for row in left:
            incidents.maintenance_ended(row.service, row.pk, row.state, at)
    return inside


def evaluate_all(at: datetime | None = None) -> PassResult:
    """Decide every SLO at ``at`` (default now); record and return the state changes.

    A pass older than the last one that wrote (a late duplicate) changes nothing.
    """
    at = at or timezone.now()
    result = PassResult(at=at)
    rows = _rows(at)
    with transaction.atomic():
        if not _claim_pass(at):
            result.stale = True
            return result
        inside = _maintenance_flags(rows, at)
        changed_values = {}
        for row in rows:
            new_state = decide(row.value, row.threshold, row.count, row.min_samples)
            quiet = row.service in inside
            if new_state != row.state:
                claimed = SLO.objects.filter(pk=row.pk, state=row.state).update(
                    state=new_state,
                    since=at,
                    value=row.value,
                    sample_count=row.count,
                    evaluated_at=at,
                )
                if claimed:
                    result.changes.append(_record_change(row, new_state, quiet, at))
            elif row.value != row.stored or row.count != row.stored_count:
                changed_values[row.pk] = (row.value, row.count)
        _store_values(changed_values, at)
    result.evaluated = len(rows)
    return result


def _record_change(row: Row, new_state: str, quiet: bool, at: datetime) -> SLOStateChange:
    """The transition's row, its audit entry and the playbook's hook (which, inside a
    maintenance window, plans no corrective run)."""
    change = SLOStateChange.objects.create(
        slo_id=row.pk,
        from_state=row.state,
        to_state=new_state,
        value=row.value,
        sample_count=row.count,
        in_maintenance=quiet,
        at=at,
    )
    audit.record(
        AUDIT_TOPIC,
        {
            "service": row.service,
            "slo": row.pk,
            "from": row.state,
            "to": new_state,
            "value": row.value,
            "samples": row.count,
            "in_maintenance": quiet,
            "at": at.isoformat(),
        },
        actor=EVALUATOR,
    )
    incidents.on_slo_change(row.pk, row.state, new_state, at)
    return change
