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
UPDATE on the old state (one set-based statement for all of them), and its
``SLOStateChange`` row is written only when that UPDATE moved the row.

The pass commits only the state changes; the ``SLOStateChange`` rows are the
durable hand-off of their audit entries, incidents and playbook plans, done per
service after the commit by ``ops.slo_handoff``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Case, FloatField, Value, When
from django.utils import timezone

from ops import slo_handoff
from ops.metrics.store import WindowQuery, get_store, percentile_statistic
from ops.models import SLO, SLOStateChange, WorkerHeartbeat

_UPDATE_CHUNK = 500
_MOVE_CHUNK = 200  # 4 parameters a row: under SQLite's 999
EVALUATOR = slo_handoff.ACTOR
AUDIT_TOPIC = slo_handoff.AUDIT_TOPIC
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


def _transitions(moves: dict[int, tuple], at: datetime) -> list[SLOStateChange]:
    """Move the SLOs of ``moves`` (id -> (service, old, new, value)); their change rows.

    A few set-based statements whatever the count. Each move is conditional on the state
    the pass read, so a row changed meanwhile is not moved again (and gets no change row).
    """
    if not moves:
        return []
    moved = _move(moves, at)
    due = slo_handoff.due_at()
    changes = [
        SLOStateChange(
            slo_id=pk,
            from_state=moves[pk][1],
            to_state=moves[pk][2],
            value=moves[pk][3],
            at=at,
            handoff_due_at=due,
        )
        for pk in sorted(moved)
    ]
    return SLOStateChange.objects.bulk_create(changes, batch_size=_UPDATE_CHUNK)


def _move(moves: dict[int, tuple], at: datetime) -> set[int]:
    """UPDATE … FROM the (id, old, new, value) list WHERE state = old; the ids it moved."""
    table = SLO._meta.db_table
    set_clause = "state = v.new, since = %s, value = v.value, evaluated_at = %s"
    ids = list(moves)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS s SET {set_clause} "  # noqa: S608 - model metadata
                "FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::double precision[]) "
                "AS v(id, old, new, value) WHERE s.id = v.id AND s.state = v.old RETURNING s.id",
                (at, at, ids, *([moves[pk][i] for pk in ids] for i in (1, 2, 3))),
            )
            return {row[0] for row in cursor.fetchall()}
        moved: set[int] = set()
        for start in range(0, len(ids), _MOVE_CHUNK):
            chunk = ids[start : start + _MOVE_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            params = [p for pk in chunk for p in (pk, *moves[pk][1:])]
            cursor.execute(
                f"WITH v(id, old, new, value) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET {set_clause} FROM v "
                f"WHERE {table}.id = v.id AND {table}.state = v.old RETURNING {table}.id",
                (*params, at, at),
            )
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def evaluate_all(at: datetime | None = None) -> PassResult:
    """Decide every SLO at ``at`` (default now); commit and return the state changes.

    The pass writes the moved SLOs and their ``SLOStateChange`` rows in a fixed number of
    statements and commits; auditing, incidents and playbook plans follow per service
    (``ops.slo_handoff``, sent after the commit), outside the evaluator's lock.
    A pass older than the last one that wrote (a late duplicate) changes nothing.
    """
    at = at or timezone.now()
    result = PassResult(at=at)
    rows = _rows(at)
    with transaction.atomic():
        if not _claim_pass(at):
            result.stale = True
            return result
        moves, changed_values = {}, {}
        for pk, service, threshold, state, stored, value in rows:
            new_state = decide(value, threshold)
            if new_state != state:
                moves[pk] = (service, state, new_state, value)
            elif value != stored:
                changed_values[pk] = value
        result.changes = _transitions(moves, at)
        _store_values(changed_values, at)
        moved = {change.slo_id for change in result.changes}
        services = sorted({moves[pk][0] for pk in moved})
        if services:  # a lost message is sent again by the beat (slo_handoff.sweep)
            transaction.on_commit(lambda: slo_handoff.send(services), robust=True)
    result.evaluated = len(rows)
    return result
