"""How an SLO pass writes: changed values, and state moves with their change rows.

Set-based statements whatever the number of SLOs: on PostgreSQL one ``UPDATE … FROM
unnest(…)`` for the values and one statement that moves the states and inserts the
``SLOStateChange`` rows; on SQLite ``CASE``/``VALUES`` lists in chunks under its 999
parameters. Every write is guarded ``evaluated_at IS NULL OR evaluated_at <= at``: an
older evaluation never overwrites a newer one (a beat pass that read its windows before
a triggered pass, ``ops.slo.evaluate_services``, but writes after it must not move the
SLO back).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Case, FloatField, IntegerField, Q, Value, When

from ops import slo_handoff
from ops.metrics.store.arrays import literal
from ops.models import SLO, SLOStateChange

_UPDATE_CHUNK = 500
_MOVE_CHUNK = 150  # 6 parameters a row: under SQLite's 999


ASYNC_COMMIT = "SET LOCAL synchronous_commit = off; "


def commit_asynchronously() -> None:
    """PostgreSQL, inside the pass's transaction: its commit does not wait for the WAL
    flush (a pass whose values were written by another statement, ``ops.slo_steady``)."""
    with connection.cursor() as cursor:
        cursor.execute(ASYNC_COMMIT.rstrip("; "))


def store_values(
    values: dict[int, tuple[float | None, int]], at: datetime, asynchronous: bool = False
) -> None:
    """Write the SLOs whose value or sample count changed (unchanged rows are not rewritten
    every pass).

    ``asynchronous`` (PostgreSQL, inside the pass's transaction): the UPDATE is sent after
    ``SET LOCAL synchronous_commit = off`` in the same round trip, so the pass's commit
    does not wait for the WAL flush. Only for a pass that moves no state (``ops.slo``).
    """
    if not values:
        return
    if connection.vendor == "postgresql":
        table = SLO._meta.db_table
        sql = (
            f"UPDATE {table} AS s SET value = v.value, sample_count = v.n, "  # noqa: S608
            "evaluated_at = %s FROM unnest(%s::bigint[], %s::double precision[], "
            "%s::integer[]) AS v(id, value, n) WHERE s.id = v.id "
            "AND (s.evaluated_at IS NULL OR s.evaluated_at <= %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                (ASYNC_COMMIT if asynchronous else "") + sql,
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


def transitions(moves: dict[int, tuple], at: datetime) -> list[SLOStateChange]:
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
