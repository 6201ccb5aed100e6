"""The watchdog's written-out statements on ``apm_escalation`` (used by
``apm.escalations.on_deviation``).

Every run of every baseline takes one of two written-out statements: the ORM's
compilation of each costs more than the statement itself (bench/watchdog.py).
Both find the baseline's open escalation (the partial unique index allows one)
by the same condition, and both carry the run's maintenance question (is there
a window on the baseline or its program that may cover the run?), so a run asks
it in no statement of its own. Everything is built here from the models'
metadata with one placeholder per value, every value a parameter; the
placeholder counts are checked at import, so a status or level added to the
model changes the statements and their parameters together, or the app does not
start.

"May cover" is ``MaintenanceWindowQuerySet.may_cover``'s condition: a one-off
window around the run, or a weekly one begun by then. It is a superset; when it
holds, the caller asks ``apm.maintenance.baseline_in_maintenance`` for the exact
answer (a weekly window's repeats), which only runs near a window pay.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from apm.models import Deviation, Escalation, MaintenanceWindow
from apm.models.escalation import Level, level_rank

_ESC = Escalation._meta
_TABLE = _ESC.db_table
_MW = MaintenanceWindow._meta
ONCE, WEEKLY = MaintenanceWindow.Recurrence.NONE, MaintenanceWindow.Recurrence.WEEKLY


def col(name: str) -> str:
    return _ESC.get_field(name).column


def _mw(name: str) -> str:
    return _MW.get_field(name).column


def _slots(values) -> str:
    return ", ".join(["%s"] * len(values))


_OPEN_WHERE = f"{col('baseline')} = %s AND {col('status')} IN ({_slots(Escalation.OPEN_STATUSES)})"
IS_OPEN_SQL = f"SELECT 1 FROM {_TABLE} WHERE {_OPEN_WHERE}"  # noqa: S608
_IS_OPEN_ONE_SQL = f"{IS_OPEN_SQL} LIMIT 1"
MAY_COVER_SQL = (
    f"SELECT 1 FROM {_MW.db_table} WHERE ({_mw('baseline')} = %s OR {_mw('program')} = %s)"  # noqa: S608
    f" AND (({_mw('recurrence')} = %s AND {_mw('starts_at')} <= %s AND {_mw('ends_at')} > %s)"
    f" OR ({_mw('recurrence')} = %s AND {_mw('starts_at')} <= %s))"
)
_OPEN_AND_PAUSED_SQL = f"SELECT EXISTS ({IS_OPEN_SQL}), EXISTS ({MAY_COVER_SQL})"
# One level slot per level: the levels at or above the run's, the last repeated to fill them.


def repeat_sql(deviation: str) -> str:
    """The counting UPDATE, pointing the escalation at ``deviation`` (an SQL expression:
    a placeholder here, the ledger's next id in ``apm.steady_runs``)."""
    return (
        f"UPDATE {_TABLE} SET {col('deviation')} = {deviation},"  # noqa: S608
        f" {col('breach_count')} = {col('breach_count')} + 1,"
        f" {col('last_red_at')} = %s, {col('updated_at')} = %s"
        f" WHERE {_OPEN_WHERE} AND {col('level')} IN ({_slots(Level.values)})"
    )


_REPEAT_SQL = repeat_sql("%s")
_REPEAT_UNPAUSED_SQL = f"{_REPEAT_SQL} AND NOT EXISTS ({MAY_COVER_SQL})"


def is_open_params(baseline_id: int) -> list:
    return [baseline_id, *Escalation.OPEN_STATUSES]


def may_cover_params(deviation: Deviation) -> list:
    at = connection.ops.adapt_datetimefield_value(deviation.evaluated_at)
    program_id = deviation.baseline.program_id
    return [deviation.baseline_id, program_id, ONCE, at, at, WEEKLY, at]


def _repeat_params(deviation: Deviation, level: str) -> list:
    return [deviation.pk, *repeat_params(deviation, level)]


def _level_slots(level: str) -> list[str]:
    levels = [lvl for lvl in Level.values if level_rank(lvl) >= level_rank(level)]
    return levels + levels[-1:] * (len(Level.values) - len(levels))


LEVEL_SLOTS = {level: _level_slots(level) for level in Level.values}  # worked out once


def repeat_params(deviation: Deviation, level: str) -> list:
    """``repeat_sql``'s parameters after its ``deviation`` expression."""
    levels = LEVEL_SLOTS.get(level) or _level_slots(level)
    adapt = connection.ops.adapt_datetimefield_value
    return [
        adapt(deviation.evaluated_at),
        adapt(timezone.now()),
        *is_open_params(deviation.baseline_id),
        *levels,
    ]


def _checked() -> None:
    """The placeholder counts (see the module docstring)."""
    from apm.models import Baseline

    probe = Deviation(pk=0, baseline=Baseline(pk=0, program_id=0))
    probe.evaluated_at = datetime(2000, 1, 1, tzinfo=UTC)
    assert IS_OPEN_SQL.count("%s") == len(is_open_params(0)), IS_OPEN_SQL
    assert _OPEN_AND_PAUSED_SQL.count("%s") == len(_open_and_paused_params(probe))
    for level in Level.values:
        assert _REPEAT_SQL.count("%s") == len(_repeat_params(probe, level)), _REPEAT_SQL
        assert _REPEAT_UNPAUSED_SQL.count("%s") == len(_repeat_unpaused_params(probe, level))


def _open_and_paused_params(deviation: Deviation) -> list:
    return [*is_open_params(deviation.baseline_id), *may_cover_params(deviation)]


def _repeat_unpaused_params(deviation: Deviation, level: str) -> list:
    return [*_repeat_params(deviation, level), *may_cover_params(deviation)]


_checked()


def is_open(baseline_id: int) -> bool:
    """One plain read, no lock: whether the baseline has an open escalation."""
    with connection.cursor() as cursor:
        cursor.execute(_IS_OPEN_ONE_SQL, is_open_params(baseline_id))
        return cursor.fetchone() is not None


def open_and_paused(deviation: Deviation) -> tuple[bool, bool]:
    """One plain read, no lock, the usual ok run's whole question: ``(an escalation is
    open, a maintenance window may cover the run)``."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_AND_PAUSED_SQL, _open_and_paused_params(deviation))
        is_open_, may_pause = cursor.fetchone()
        return bool(is_open_), bool(may_pause)


def count_repeat(deviation: Deviation, level: str, *, unless_paused: bool = False) -> bool:
    """Still red, at the open escalation's level or below: count it on that escalation.

    The nightly steady state of a broken promise: one conditional UPDATE that
    points the escalation at the new evidence. False, with nothing written, when
    nothing is open or the level rises; with ``unless_paused``, also when a
    maintenance window may cover the run (the caller then asks exactly).
    """
    if unless_paused:
        sql, params = _REPEAT_UNPAUSED_SQL, _repeat_unpaused_params(deviation, level)
    else:
        sql, params = _REPEAT_SQL, _repeat_params(deviation, level)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0
