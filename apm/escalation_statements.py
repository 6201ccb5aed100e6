"""The watchdog's two written-out statements on ``apm_escalation`` (used by
``apm.escalations.on_deviation``).

Every run of every baseline takes one of two written-out statements: the ORM's
compilation of each costs more than the statement itself (bench/watchdog.py).
Both find the baseline's open escalation (the partial unique index allows one)
by the same condition, built here from the model's metadata with one
placeholder per value, every value a parameter; the placeholder counts are
checked at import, so a status or level added to the model changes the
statements and their parameters together, or the app does not start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from apm.models import Deviation, Escalation
from apm.models.escalation import Level, level_rank

_ESC = Escalation._meta
_TABLE = _ESC.db_table


def _col(name: str) -> str:
    return _ESC.get_field(name).column


def _slots(values) -> str:
    return ", ".join(["%s"] * len(values))


_OPEN_WHERE = (
    f"{_col('baseline')} = %s AND {_col('status')} IN ({_slots(Escalation.OPEN_STATUSES)})"
)
_IS_OPEN_SQL = f"SELECT 1 FROM {_TABLE} WHERE {_OPEN_WHERE} LIMIT 1"  # noqa: S608
# One level slot per level: the levels at or above the run's, the last repeated to fill them.
_REPEAT_SQL = (
    f"UPDATE {_TABLE} SET {_col('deviation')} = %s,"  # noqa: S608
    f" {_col('breach_count')} = {_col('breach_count')} + 1,"
    f" {_col('last_red_at')} = %s, {_col('updated_at')} = %s"
    f" WHERE {_OPEN_WHERE} AND {_col('level')} IN ({_slots(Level.values)})"
)


def _is_open_params(baseline_id: int) -> list:
    return [baseline_id, *Escalation.OPEN_STATUSES]


def _repeat_params(deviation: Deviation, level: str) -> list:
    levels = [lvl for lvl in Level.values if level_rank(lvl) >= level_rank(level)]
    levels += levels[-1:] * (len(Level.values) - len(levels))
    adapt = connection.ops.adapt_datetimefield_value
    return [
        deviation.pk,
        adapt(deviation.evaluated_at),
        adapt(timezone.now()),
        *_is_open_params(deviation.baseline_id),
        *levels,
    ]


# Checked at import (see the module docstring).
_PROBE = Deviation(pk=0, baseline_id=0, evaluated_at=datetime(2000, 1, 1, tzinfo=UTC))
assert _IS_OPEN_SQL.count("%s") == len(_is_open_params(0)), _IS_OPEN_SQL
assert all(
    _REPEAT_SQL.count("%s") == len(_repeat_params(_PROBE, level)) for level in Level.values
), _REPEAT_SQL
del _PROBE


def is_open(baseline_id: int) -> bool:
    """One plain read, no lock: the usual ok run's whole question."""
    with connection.cursor() as cursor:
        cursor.execute(_IS_OPEN_SQL, _is_open_params(baseline_id))
        return cursor.fetchone() is not None


def count_repeat(deviation: Deviation, level: str) -> bool:
    """Still red, at the open escalation's level or below: count it on that escalation.

    The nightly steady state of a broken promise: one conditional UPDATE that
    points the escalation at the new evidence. False, with nothing written, when
    nothing is open or the level rises.
    """
    with connection.cursor() as cursor:
        cursor.execute(_REPEAT_SQL, _repeat_params(deviation, level))
        return cursor.rowcount > 0
