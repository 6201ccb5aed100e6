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
the other module's (``_OPEN_WHERE``, ``MAY_COVER_SQL``; ``_checked`` holds the
names below to its parameter lists), the ledger's columns the model's
(``_meta``). Each value is named and sent once (the run's time stands in five
places, the baseline's id in three), already in PostgreSQL's text form, worked
out per field type once per process (``prepared_statement.text_of``: what the
ORM's ``get_db_prep_save`` and psycopg's dumping would send).

Outside a caller's transaction, with ``HMS_WATCHDOG_ASYNC_COMMIT`` (default on),
the statement itself turns ``synchronous_commit`` off for its own implicit
transaction (``set_config(..., true)``, as ``SET LOCAL``) when it writes: its
commit does not wait for the WAL flush. A server crash may lose the last ~0.6 s
of such rows (3 x ``wal_writer_delay``), never corrupts or reorders; the next
scheduled run measures again. A run that changes escalation state never takes
this path. Being one statement, it is prepared (``apm.prepared_statement``: parsed
and planned once per connection, sent on libpq's connection with its text values,
no cursor, through Django's execute wrappers and query log). SQLite: not used (the
caller's path is the same decision).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections
from django.utils import timezone

from apm import prepared_statement
from apm.escalation_statements import (
    IS_OPEN_SQL,
    LEVEL_SLOTS,
    MAY_COVER_SQL,
    ONCE,
    WEEKLY,
    col,
    is_open_params,
    may_cover_params,
    repeat_params,
    repeat_sql,
)
from apm.models import Deviation, Escalation
from apm.models.escalation import Level

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
        f" WHERE NOT EXISTS ({IS_OPEN_SQL}) AND NOT EXISTS ({MAY_COVER_SQL}){when}"
        f" RETURNING {_DEV.pk.column}"
    )


def _red_sql(asynchronous: bool) -> str:
    when = f" WHERE {ASYNC_COMMIT}" if asynchronous else ""
    return (
        f"WITH counted AS ({repeat_sql(_NEXT_ID)}"  # noqa: S608
        f" AND NOT EXISTS ({MAY_COVER_SQL}) RETURNING {col('deviation')})"
        f" INSERT INTO {_DEV.db_table} ({_DEV.pk.column}, {_COLUMNS})"
        f" SELECT {col('deviation')}, {_VALUES} FROM counted{when} RETURNING {_DEV.pk.column}"
    )


# --- the parameters, by name: each value is sent once ------------------------------
#
# Each ``%s`` of a statement stands for a named value; the statement is numbered
# ``$1``… by first use of each name, once per process. The run's time goes in as the
# ledger's ``evaluated_at``, the maintenance question's three times and the count's
# ``last_red_at``; the baseline's id as the row's and both questions'; the moment of
# recording as ``recorded_at`` (``auto_now_add``) and the escalation's ``updated_at``.
_ROW = [field.attname for field in _FIELDS]
_RUN, _NOW = "evaluated_at", "recorded_at"
_OPEN = ["baseline_id", *(f"open:{status}" for status in Escalation.OPEN_STATUSES)]
_COVER = ["baseline_id", "program_id", f"once:{ONCE}", _RUN, _RUN, f"weekly:{WEEKLY}", _RUN]
_LEVELS = [f"level:{i}" for i in range(len(Level.values))]
_GREEN = [*_ROW, *_OPEN, *_COVER]
_RED = [_RUN, _NOW, *_OPEN, *_LEVELS, *_COVER, *_ROW]  # after the id drawn in SQL
_CONSTANTS = {
    **{f"open:{status}": str(status) for status in Escalation.OPEN_STATUSES},
    f"once:{ONCE}": str(ONCE),
    f"weekly:{WEEKLY}": str(WEEKLY),
}
_CONSTANT_TEXTS = {name: value.encode() for name, value in _CONSTANTS.items()}
_LEVEL_TEXTS = {
    level: dict(zip(_LEVELS, (str(slot).encode() for slot in slots), strict=True))
    for level, slots in LEVEL_SLOTS.items()
}


def _numbered(sql: str, names: list[str]) -> tuple[str, list[str]]:
    """``sql`` with its i-th ``%s`` as ``$n`` of ``names[i]`` (numbered by first use);
    the names in the order of their numbers."""
    parts = sql.split("%s")
    if len(parts) != len(names) + 1 or "%" in sql.replace("%s", ""):
        raise ValueError(f"steady_runs: {len(names)} names for {len(parts) - 1} placeholders")
    order: list[str] = []
    out = [parts[0]]
    for name, part in zip(names, parts[1:], strict=True):
        if name not in order:
            order.append(name)
        out.append(f"${order.index(name) + 1}{part}")
    return "".join(out), order


_TEXTS = [(field.attname, prepared_statement.text_of(field)) for field in _FIELDS]
# pre_save of ``auto_now``/``auto_now_add``: the moment of recording, set on the instance
_STAMPED = [
    f.attname for f in _FIELDS if getattr(f, "auto_now", 0) or getattr(f, "auto_now_add", 0)
]


def _values(deviation: Deviation, now: datetime) -> dict[str, bytes | None]:
    """Every value of a statement but the red one's levels, as text by name: the row's
    as the ORM's INSERT computes them (the stamped fields set to ``now`` here), the
    baseline's program and the constants."""
    for attname in _STAMPED:
        setattr(deviation, attname, now)
    values = {
        attname: None if (value := getattr(deviation, attname)) is None else text(value)
        for attname, text in _TEXTS
    }
    values["program_id"] = str(int(deviation.baseline.program_id)).encode()
    values.update(_CONSTANT_TEXTS)
    return values


class _Steady:
    """One of the two statements (green or red), numbered, with its names in order."""

    def __init__(self, sql: str, names: list[str]):
        self.sql, self.order = _numbered(sql, names)
        self.statement = prepared_statement.PreparedStatement(self.sql)

    def rows(self, values: dict[str, bytes | None]) -> list[tuple]:
        return self.statement.rows([values[name] for name in self.order])


# (green, red) statements by ``asynchronous``
_SQL = {flag: (_green_sql(flag), _red_sql(flag)) for flag in (False, True)}
_STATEMENTS = {
    flag: (_Steady(green, _GREEN), _Steady(red, _RED)) for flag, (green, red) in _SQL.items()
}


def usable(deviation: Deviation) -> bool:
    """PostgreSQL (psycopg 3), and a slot's duplicate can be refused without a savepoint
    (outside a transaction the failed statement is its own; inside one it would abort it)."""
    return prepared_statement.usable() and (
        deviation.slot is None or not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


def record_if_steady(deviation: Deviation, level: str | None) -> bool:
    """Record a fresh run in one statement if it is steady (``level``: the red run's,
    ``None`` for a green one); True when decided: recorded, or refused because another
    delivery recorded its slot first (``pk`` stays ``None``). False: nothing written,
    the caller decides the run."""
    # Outside a transaction the statement is its own (one implicit transaction): see the
    # module docstring. Inside a caller's, the caller's commit decides.
    db = connections[DEFAULT_DB_ALIAS]  # the proxy's connection, looked up once
    asynchronous = settings.HMS_WATCHDOG_ASYNC_COMMIT and not db.in_atomic_block
    green, red = _STATEMENTS[bool(asynchronous)]
    values = _values(deviation, timezone.now())
    if level is None:
        statement = green
    else:
        statement = red
        values.update(_LEVEL_TEXTS[level])  # the levels at or above the run's
    try:
        rows = statement.rows(values)
    except IntegrityError:
        if deviation.slot is None:
            raise
        deviation.pk = None  # the slot's first delivery recorded (and decided) it
        return True
    if not rows:
        return False
    deviation.pk = rows[0][0]
    deviation._state.adding = False
    deviation._state.db = db.alias
    return True


def _checked() -> None:
    """The names stand for the values ``apm.escalation_statements``' own parameter lists
    hold, place by place (so a change there changes these statements, or the app does
    not start), and each statement has one name per placeholder."""
    from datetime import UTC

    from apm.models import Baseline

    at = datetime(2000, 1, 1, tzinfo=UTC)
    probe = Deviation(baseline=Baseline(pk=101, program_id=202), deviation_pct=0.0)
    probe.evaluated_at = at
    known = {
        "baseline_id": 101,
        "program_id": 202,
        _RUN: connection.ops.adapt_datetimefield_value(at),
    }
    known.update(_CONSTANTS)

    def same(names: list[str], params: list) -> bool:  # the moment of recording: any
        return len(names) == len(params) and all(
            name == _NOW or known[name] == param for name, param in zip(names, params, strict=True)
        )

    assert same(_GREEN[len(_ROW) :], [*is_open_params(101), *may_cover_params(probe)])
    for level, slots in LEVEL_SLOTS.items():
        known.update(zip(_LEVELS, slots, strict=True))
        assert same(_RED[: -len(_ROW)], [*repeat_params(probe, level), *may_cover_params(probe)])
    for green, red in _STATEMENTS.values():  # numbered: every name once, in order of use
        assert green.sql.count("$") == len(_GREEN) and red.sql.count("$") == len(_RED)


_checked()
