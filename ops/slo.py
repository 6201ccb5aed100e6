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
UPDATE on the old state (one set-based statement for all of them), and its
``SLOStateChange`` row is written only when that UPDATE moved the row.

The pass commits only the state changes; the ``SLOStateChange`` rows are the
durable hand-off of their audit entries, incidents and playbook plans, done per
service after the commit by ``ops.slo_handoff``.
"""

from __future__ import annotations

import socket
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Case, FloatField, IntegerField, Q, Value, When
from django.utils import timezone

from ops import maintenance, slo_handoff
from ops.metrics.store import WindowQuery, get_store, percentile_statistic
from ops.metrics.store.arrays import literal
from ops.models import SLO, SLOStateChange, WorkerHeartbeat
from ops.playbook import incidents

_UPDATE_CHUNK = 500
_MOVE_CHUNK = 150  # 6 parameters a row: under SQLite's 999
EVALUATOR = slo_handoff.ACTOR
AUDIT_TOPIC = slo_handoff.AUDIT_TOPIC
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


# One SLO and its window now: a tuple (a pass builds 10,000; a frozen dataclass cost ~5x).
Row = namedtuple(
    "Row", "pk service threshold state stored stored_count min_samples was_in_maintenance "
    "target window_seconds percentile value count",
)  # fmt: skip


def _rows(at: datetime, services=None) -> list[Row]:
    """Every SLO with its window's percentile and sample count now.

    Two statements whatever the number of SLOs: the SLOs, then every window at once
    from the metrics store (``window_stats``: value, samples, newest per window).
    """
    chosen = SLO.objects.all() if services is None else SLO.objects.filter(service_id__in=services)
    slos = list(
        chosen.values_list(
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
    return [Row(*head, s.value, s.samples) for head, s in zip(slos, stats, strict=True)]


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
                "%s::integer[]) AS v(id, value, n) WHERE s.id = v.id "
                "AND (s.evaluated_at IS NULL OR s.evaluated_at <= %s)",
                (at, literal(values), *map(literal, zip(*values.values(), strict=True)), at),
            )
        return
    ids = list(values)
    for start in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[start : start + _UPDATE_CHUNK]
        value_whens = [When(pk=pk, then=Value(values[pk][0])) for pk in chunk]
        count_whens = [When(pk=pk, then=Value(values[pk][1])) for pk in chunk]
        SLO.objects.filter(pk__in=chunk).filter(
            Q(evaluated_at__isnull=True) | Q(evaluated_at__lte=at)
        ).update(
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


def _transitions(moves: dict[int, tuple], at: datetime) -> list[SLOStateChange]:
    """Move the SLOs of ``moves`` (id -> (service, old, new, value, count, quiet)); their
    change rows.

    A few set-based statements whatever the count (on PostgreSQL one: the UPDATE and the
    INSERT of the change rows in one statement). Each move is conditional on the state the
    pass read, so a row changed meanwhile is not moved again (and gets no change row).
    """
    if not moves:
        return []
    due = slo_handoff.due_at()
    if connection.vendor == "postgresql":
        return _move_and_record(moves, at, due)
    moved = _move(moves, at)
    changes = [_change(pk, moves[pk], at, due) for pk in sorted(moved)]
    return SLOStateChange.objects.bulk_create(changes, batch_size=_UPDATE_CHUNK)


def _change(slo_id: int, move: tuple, at: datetime, due: datetime, **saved) -> SLOStateChange:
    _, old, new, value, count, quiet = move
    return SLOStateChange(
        slo_id=slo_id, from_state=old, to_state=new, value=value, sample_count=count,
        in_maintenance=quiet, at=at, handoff_due_at=due, **saved,
    )  # fmt: skip


_SET_MOVED = "state = v.new, since = %s, value = v.value, sample_count = v.n, evaluated_at = %s"
# Every write is guarded ``evaluated_at IS NULL OR evaluated_at <= at``: an older evaluation
# never overwrites a newer one (a beat pass that read its windows before a triggered pass,
# ``evaluate_services``, but writes after it must not move the SLO back).


def _move_and_record(moves: dict[int, tuple], at: datetime, due: datetime) -> list:
    """PostgreSQL: UPDATE … FROM unnest(the moves) WHERE state = old, and INSERT the change
    rows of the SLOs it moved (ids in SLO order), in one statement and one round trip."""
    slos, changes = SLO._meta.db_table, SLOStateChange._meta.db_table
    ids = sorted(moves)
    sql = (
        f"WITH v AS (SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], "  # noqa: S608
        "%s::double precision[], %s::integer[], %s::boolean[]) "
        "AS v(id, old, new, value, n, quiet)), "
        f"moved AS (UPDATE {slos} AS s SET {_SET_MOVED} FROM v "
        "WHERE s.id = v.id AND s.state = v.old "
        "AND (s.evaluated_at IS NULL OR s.evaluated_at <= %s) RETURNING v.*) "
        f"INSERT INTO {changes} (slo_id, from_state, to_state, value, sample_count, "
        "in_maintenance, at, handoff_due_at, handoff_attempts, handoff_error) "
        "SELECT id, old, new, value, n, quiet, %s, %s, 0, '' FROM moved ORDER BY id "
        "RETURNING id, slo_id"
    )
    columns = [[moves[pk][i] for pk in ids] for i in range(1, 6)]
    with connection.cursor() as cursor:
        cursor.execute(sql, (ids, *columns, at, at, at, at, due))
        saved = sorted(cursor.fetchall(), key=lambda row: row[0])
    return [_change(slo_id, moves[slo_id], at, due, pk=pk) for pk, slo_id in saved]


def _move(moves: dict[int, tuple], at: datetime) -> set[int]:
    """SQLite: UPDATE … FROM a (id, old, new, value, count) VALUES list WHERE state = old,
    in chunks; the ids moved."""
    table = SLO._meta.db_table
    set_clause = _SET_MOVED
    ids = list(moves)
    with connection.cursor() as cursor:
        moved: set[int] = set()
        for start in range(0, len(ids), _MOVE_CHUNK):
            chunk = ids[start : start + _MOVE_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [p for pk in chunk for p in (pk, *moves[pk][1:5])]
            cursor.execute(
                f"WITH v(id, old, new, value, n) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET {set_clause} FROM v "
                f"WHERE {table}.id = v.id AND {table}.state = v.old "
                f"AND ({table}.evaluated_at IS NULL OR {table}.evaluated_at <= %s) "
                f"RETURNING {table}.id",
                (*params, at, at, at),
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
    return _evaluate(at or timezone.now(), None)


def evaluate_services(service_ids, at: datetime | None = None) -> PassResult:
    """Decide only these services' SLOs at ``at`` (default now): the triggered pass.

    Sent after an ingest commit (``ops.slo_trigger``), so a breaching batch opens its
    incident without waiting for the beat. It takes no fencing token (the beat's pass
    must not become stale because of it); every write is guarded per SLO instead
    (``evaluated_at <= at``), so whichever of a beat pass and a triggered pass read the
    newer window wins, whatever order they commit in.
    """
    return _evaluate(at or timezone.now(), sorted(set(service_ids)))


def _evaluate(at: datetime, services: list[str] | None) -> PassResult:
    result = PassResult(at=at)
    rows = _rows(at, services)
    with transaction.atomic():
        if services is None and not _claim_pass(at):
            result.stale = True
            return result
        inside = _maintenance_flags(rows, at)
        moves, changed_values = {}, {}
        for row in rows:
            new_state = decide(row.value, row.threshold, row.count, row.min_samples)
            if new_state != row.state:
                quiet = row.service in inside
                moves[row.pk] = (row.service, row.state, new_state, row.value, row.count, quiet)
            elif row.value != row.stored or row.count != row.stored_count:
                changed_values[row.pk] = (row.value, row.count)
        result.changes = _transitions(moves, at)
        _store_values(changed_values, at)
        moved = {change.slo_id for change in result.changes}
        services = sorted({moves[pk][0] for pk in moved})
        if services:  # a lost message is sent again by the beat (slo_handoff.sweep)
            transaction.on_commit(lambda: slo_handoff.send(services), robust=True)
    result.evaluated = len(rows)
    return result
