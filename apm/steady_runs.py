"""A fresh watchdog run that changes no escalation state, in ONE statement (PostgreSQL).

The nightly steady state of ``apm.escalations.on_deviation`` is a green run with
nothing open and a red run counted on its open escalation: neither opens,
raises or resolves anything, writes an audit entry or notifies. Each is one
statement here, which records the ledger row only when the run is steady:

- green: ``INSERT ... SELECT ... WHERE`` nothing is open and no maintenance
  window may cover the run;
- red: ``WITH counted AS (UPDATE`` the open escalation at the run's level or
  above, unless a window may cover the run, ``RETURNING`` the ledger row's id
  drawn from its sequence ``) INSERT`` the row ``FROM counted``: the row exists
  exactly when the count does (one statement: one commit, or neither).

When the statement writes nothing the run is not steady and the caller decides
it as before (``apm.escalation_statements``, in a transaction, committed
synchronously): nothing was written, so nothing is undone. The conditions are
the other module's (``_OPEN_WHERE``, ``_MAY_COVER_SQL``), the ledger's columns
and values the model's (``_meta``, each field's ``pre_save`` and
``get_db_prep_save``, as the ORM's INSERT), one parameter per value.

Outside a caller's transaction, with ``HMS_WATCHDOG_ASYNC_COMMIT`` (default on),
the statement itself turns ``synchronous_commit`` off for its own implicit
transaction (``set_config(..., true)``, as ``SET LOCAL``) when it writes: its
commit does not wait for the WAL flush. A server crash may lose the last ~0.6 s
of such rows (3 x ``wal_writer_delay``), never corrupts or reorders; the next
scheduled run measures again. A run that changes escalation state never takes
this path. Being one statement, it is prepared (``apm.prepared_reads``: parsed
and planned once per connection, its parameters sent apart from its text, so
none is quoted into it by Python). SQLite: not used (the caller's path is the
same decision).
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection

from apm import prepared_reads
from apm.escalation_statements import (
    _IS_OPEN_SQL,
    _MAY_COVER_SQL,
    _col,
    _is_open_params,
    _may_cover_params,
    repeat_params,
    repeat_sql,
)
from apm.models import Deviation

_DEV = Deviation._meta
_FIELDS = [field for field in _DEV.concrete_fields if not field.primary_key]
_COLUMNS = ", ".join(field.column for field in _FIELDS)
_VALUES = ", ".join(["%s"] * len(_FIELDS))
_NEXT_ID = f"nextval(pg_get_serial_sequence('{_DEV.db_table}', '{_DEV.pk.column}'))"

# Local to the statement's own implicit transaction (never a caller's: see
# ``record_if_steady``), which then commits its row without waiting for the WAL flush;
# when it writes nothing there is nothing to commit.
ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true) IS NOT NULL"


def _green_sql(asynchronous: bool) -> str:
    when = f" AND {ASYNC_COMMIT}" if asynchronous else ""
    return (
        f"INSERT INTO {_DEV.db_table} ({_COLUMNS}) SELECT {_VALUES}"
        f" WHERE NOT EXISTS ({_IS_OPEN_SQL}) AND NOT EXISTS ({_MAY_COVER_SQL}){when}"
        f" RETURNING {_DEV.pk.column}"
    )


def _red_sql(asynchronous: bool) -> str:
    when = f" WHERE {ASYNC_COMMIT}" if asynchronous else ""
    return (
        f"WITH counted AS ({repeat_sql(_NEXT_ID)}"  # noqa: S608
        f" AND NOT EXISTS ({_MAY_COVER_SQL}) RETURNING {_col('deviation')})"
        f" INSERT INTO {_DEV.db_table} ({_DEV.pk.column}, {_COLUMNS})"
        f" SELECT {_col('deviation')}, {_VALUES} FROM counted{when} RETURNING {_DEV.pk.column}"
    )


# (green, red) statements by ``asynchronous``
_SQL = {flag: (_green_sql(flag), _red_sql(flag)) for flag in (False, True)}


def _values(deviation: Deviation) -> list:
    """The row's values as the ORM's INSERT computes them (``recorded_at`` set here)."""
    return [
        field.get_db_prep_save(field.pre_save(deviation, True), connection) for field in _FIELDS
    ]


def _green_params(deviation: Deviation) -> list:
    return [
        *_values(deviation),
        *_is_open_params(deviation.baseline_id),
        *_may_cover_params(deviation),
    ]


def _red_params(deviation: Deviation, level: str) -> list:
    return [
        *repeat_params(deviation, level),
        *_may_cover_params(deviation),
        *_values(deviation),
    ]


def _prepared_rows(sql: str, params: list) -> list[tuple]:
    """``apm.prepared_reads.fetchall`` on one cursor instead of two (a run makes one
    statement, so the cursor Django opens only for its checks was a tenth of its Python):
    Django's checks, then the statement prepared on a server-binding cursor wrapped as
    Django wraps its own (execute wrappers, error translation)."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if not hasattr(raw, "prepare_threshold"):  # not psycopg 3: as prepared_reads does
        return prepared_reads.fetchall(sql, params)
    before = raw.prepare_threshold
    raw.prepare_threshold = 0  # this execution only: prepared (or reused) by its text
    try:
        with connection.wrap_database_errors:
            cursor = connection._prepare_cursor(psycopg.Cursor(raw))
        with cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        raw.prepare_threshold = before


def usable(deviation: Deviation) -> bool:
    """PostgreSQL, and a slot's duplicate can be refused without a savepoint (outside a
    transaction the failed statement is its own; inside one it would abort it)."""
    return connection.vendor == "postgresql" and (
        deviation.slot is None or not connection.in_atomic_block
    )


def record_if_steady(deviation: Deviation, level: str | None) -> bool:
    """Record a fresh run in one statement if it is steady (``level``: the red run's,
    ``None`` for a green one); True when decided: recorded, or refused because another
    delivery recorded its slot first (``pk`` stays ``None``). False: nothing written,
    the caller decides the run."""
    # Outside a transaction the statement is its own (one implicit transaction): see the
    # module docstring. Inside a caller's, the caller's commit decides.
    asynchronous = settings.HMS_WATCHDOG_ASYNC_COMMIT and not connection.in_atomic_block
    green_sql, red_sql = _SQL[bool(asynchronous)]
    if level is None:
        sql, params = green_sql, _green_params(deviation)
    else:
        sql, params = red_sql, _red_params(deviation, level)
    try:
        rows = _prepared_rows(sql, params)
    except IntegrityError:
        if deviation.slot is None:
            raise
        deviation.pk = None  # the slot's first delivery recorded (and decided) it
        return True
    if not rows:
        return False
    deviation.pk = rows[0][0]
    deviation._state.adding = False
    deviation._state.db = connection.alias
    return True


def _checked() -> None:
    """The placeholder counts, as ``apm.escalation_statements`` checks its own."""
    from datetime import UTC, datetime

    from apm.models import Baseline
    from apm.models.escalation import Level

    probe = Deviation(baseline=Baseline(pk=0, program_id=0), deviation_pct=0.0)
    probe.evaluated_at = datetime(2000, 1, 1, tzinfo=UTC)
    for green_sql, red_sql in _SQL.values():
        assert green_sql.count("%s") == len(_green_params(probe)), green_sql
        for level in Level.values:
            assert red_sql.count("%s") == len(_red_params(probe, level)), red_sql


_checked()
