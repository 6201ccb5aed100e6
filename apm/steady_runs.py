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
the statement is sent after ``SET LOCAL synchronous_commit = off`` in the same
round trip (one implicit transaction): its commit does not wait for the WAL
flush. A server crash may lose the last ~0.6 s of such rows (3 x
``wal_writer_delay``), never corrupts or reorders; the next scheduled run
measures again. A run that changes escalation state never takes this path.
SQLite: not used (the caller's path is the same decision).
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, connection

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

_GREEN_SQL = (
    f"INSERT INTO {_DEV.db_table} ({_COLUMNS}) SELECT {_VALUES}"
    f" WHERE NOT EXISTS ({_IS_OPEN_SQL}) AND NOT EXISTS ({_MAY_COVER_SQL})"
    f" RETURNING {_DEV.pk.column}"
)
_RED_SQL = (
    f"WITH counted AS ({repeat_sql(_NEXT_ID)}"  # noqa: S608
    f" AND NOT EXISTS ({_MAY_COVER_SQL}) RETURNING {_col('deviation')})"
    f" INSERT INTO {_DEV.db_table} ({_DEV.pk.column}, {_COLUMNS})"
    f" SELECT {_col('deviation')}, {_VALUES} FROM counted RETURNING {_DEV.pk.column}"
)
ASYNC_COMMIT = "SET LOCAL synchronous_commit = off; "


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
    if level is None:
        sql, params = _GREEN_SQL, _green_params(deviation)
    else:
        sql, params = _RED_SQL, _red_params(deviation, level)
    asynchronous = settings.HMS_WATCHDOG_ASYNC_COMMIT and not connection.in_atomic_block
    try:
        with connection.cursor() as cursor:
            if asynchronous:  # one round trip, one implicit transaction: see the docstring
                cursor.execute(ASYNC_COMMIT + sql, params)
                cursor.nextset()
            else:
                cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:
        if deviation.slot is None:
            raise
        deviation.pk = None  # the slot's first delivery recorded (and decided) it
        return True
    if row is None:
        return False
    deviation.pk = row[0]
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
    assert _GREEN_SQL.count("%s") == len(_green_params(probe)), _GREEN_SQL
    for level in Level.values:
        assert _RED_SQL.count("%s") == len(_red_params(probe, level)), _RED_SQL


_checked()
