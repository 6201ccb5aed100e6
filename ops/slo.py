"""The SLO evaluator: one pass decides every SLO with a bounded number of queries.

For each SLO, the ``percentile`` of its ``target`` metric over the window
``(at - window_seconds, at]`` (all series of that name) is compared with
``threshold``: above it is ``breached``, at or below is ``healthy``, no sample
is ``no_data``. Every window is read from the metrics store in one call
(``window_stats``): on the database store one ``percentile_cont`` statement on
PostgreSQL, the same linear interpolation in Python on SQLite.

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
from django.db.models import Case, FloatField, Value, When
from django.utils import timezone

from ops import audit
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


def decide(value: float | None, threshold: float) -> str:
    if value is None:
        return SLO.State.NO_DATA
    return SLO.State.BREACHED if value > threshold else SLO.State.HEALTHY


def _rows(at: datetime) -> list[tuple]:
    """(id, service, threshold, state, stored value, percentile now) for every SLO.

    Two statements whatever the number of SLOs: the SLOs, then every window at once
    from the metrics store (``window_stats``, one statement on the database store).
    """
    slos = list(
        SLO.objects.values_list(
            "id", "service_id", "threshold", "state", "value", "target", "window_seconds",
            "percentile",
        )
    )  # fmt: skip
    if not slos:
        return []
    queries = [
        WindowQuery(service, target, window, at, percentile_statistic(pct), key=pk)
        for pk, service, _, _, _, target, window, pct in slos
    ]
    stats = get_store().window_stats(queries)
    return [
        (pk, service, threshold, state, stored, stat.value)
        for (pk, service, threshold, state, stored, *_), stat in zip(slos, stats, strict=True)
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


def _store_values(values: dict[int, float | None], at: datetime) -> None:
    """Write the SLOs whose value changed (unchanged rows are not rewritten every pass)."""
    if not values:
        return
    if connection.vendor == "postgresql":
        table = SLO._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET value = v.value, evaluated_at = %s "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::double precision[]) AS v(id, value) "
                "WHERE s.id = v.id",
                (at, list(values), list(values.values())),
            )
        return
    ids = list(values)
    for start in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[start : start + _UPDATE_CHUNK]
        whens = [When(pk=pk, then=Value(values[pk])) for pk in chunk]
        SLO.objects.filter(pk__in=chunk).update(
            value=Case(*whens, default=None, output_field=FloatField()), evaluated_at=at
        )


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
        changed_values = {}
        for pk, service, threshold, state, stored, value in rows:
            new_state = decide(value, threshold)
            if new_state != state:
                claimed = SLO.objects.filter(pk=pk, state=state).update(
                    state=new_state, since=at, value=value, evaluated_at=at
                )
                if claimed:
                    result.changes.append(
                        SLOStateChange.objects.create(
                            slo_id=pk, from_state=state, to_state=new_state, value=value, at=at
                        )
                    )
                    audit.record(
                        AUDIT_TOPIC,
                        {
                            "service": service,
                            "slo": pk,
                            "from": state,
                            "to": new_state,
                            "value": value,
                            "at": at.isoformat(),
                        },
                        actor=EVALUATOR,
                    )
                    incidents.on_slo_change(pk, state, new_state, at)
            elif value != stored:
                changed_values[pk] = value
        _store_values(changed_values, at)
    result.evaluated = len(rows)
    return result
