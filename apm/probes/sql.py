"""``sql``: one number from one SELECT, on the probes' own database and role.

The query runs on ``HMS_SQL_PROBE_DATABASE_URL`` (``settings.HMS_SQL_PROBE_DATABASE``,
also the ``sql_probe`` database alias), never on the app's connection: a role
with SELECT on a reporting schema only, or a reporting SQLite file opened
read-only. Without it, ``sql`` probes are refused at save.

The engine refuses what a probe must not do (``sql_postgres``, ``sql_sqlite``):
one statement, read-only, the role's privileges, timeouts, a fresh session
per run. ``sqlparse`` only turns an obvious non-SELECT into a clearer message;
it never lets anything through.

Nothing but a number leaves a probe: the evidence keeps the number and the
row count (``raw`` is ``[[number]]``, ``[[None]]`` or ``[]``); a result of
another shape or type is an error naming the shape or type, never the value.
"""

from __future__ import annotations

from datetime import datetime

import sqlparse
from django.conf import settings
from django.core.exceptions import ValidationError

from apm.probes.base import (
    Probe,
    ProbeError,
    ProbeKind,
    Reading,
    Verification,
    number_or_none,
    register,
)
from apm.probes.sql_postgres import PostgresEngine
from apm.probes.sql_result import Result
from apm.probes.sql_sqlite import SqliteEngine
from hms_site.probe_database import VARIABLE

TIMEOUT_SECONDS = 5.0  # settings.APM_SQL_TIMEOUT_SECONDS overrides
ENGINES = {"postgresql": PostgresEngine, "sqlite3": SqliteEngine}
NOT_CONFIGURED = (
    f"SQL probes need a database of their own: set {VARIABLE} to a role with SELECT on "
    "a reporting schema only, or to a reporting SQLite file (docs/SQL_PROBES.md)"
)
# First keywords that are certainly not a SELECT (a nicer message than the engine's).
NOT_SELECT = {"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "REPLACE"}


def _timeout() -> float:
    return SqlProbe.run_timeout()


def engine(error: type[Exception] = ProbeError):
    """The configured probe database's engine, or ``error`` saying what to set."""
    db = getattr(settings, "HMS_SQL_PROBE_DATABASE", None)
    if not db:
        raise error(NOT_CONFIGURED)
    return ENGINES[db["ENGINE"].rsplit(".", 1)[-1]](db, _timeout())


def _refuse_obvious_non_select(query: str) -> None:
    parsed = sqlparse.parse(query)
    kind = parsed[0].get_type() if parsed else "UNKNOWN"
    if kind in NOT_SELECT:
        raise ValidationError(f"only a SELECT is allowed (this is {kind.lower()})")


def shape(result: Result) -> str:
    rows = f"more than {result.row_count}" if result.more_rows else str(result.row_count)
    return (
        f"{rows} row{'' if result.row_count == 1 and not result.more_rows else 's'} of "
        f"{result.columns} column{'' if result.columns == 1 else 's'}"
    )


@register
class SqlProbe(Probe):
    kind = ProbeKind.SQL
    timeout_setting, default_timeout = "APM_SQL_TIMEOUT_SECONDS", TIMEOUT_SECONDS

    def check(self, query: str) -> Verification:
        _refuse_obvious_non_select(query)
        columns = engine(ValidationError).describe(query)
        if not columns:
            raise ValidationError(
                "only a SELECT is allowed: the database describes no result columns"
            )
        if len(columns) != 1:
            raise ValidationError(
                f"the query returns {len(columns)} columns; a baseline needs one row "
                "with one column"
            )
        if columns[0].numeric is False:
            # Not refused: ``SELECT NULL`` (no data) is text too. A run that gets
            # anything but a number or NULL from it is an error naming the type.
            return Verification(
                False,
                f"not verified: the query's column is {columns[0].type_name}, not a number "
                "(cast it, e.g. ::numeric); a run counts anything but a number as an error",
            )
        return Verification(True, "the database parsed the query (nothing was executed)")

    def measure(self, query: str, at: datetime) -> Reading:
        result = engine().fetch(query)
        if result.columns != 1 or result.row_count > 1:
            raise ProbeError(
                f"the query returned {shape(result)}; a baseline needs one row with one column"
            )
        if result.row_count == 0:
            return Reading(None, [], "the query returned no rows", sample_count=0)
        value = number_or_none(result.first_row[0])
        if value is None:
            return Reading(None, [[None]], "the query returned NULL")
        # One row is one sample (docs/VERDICTS.md): min_samples > 1 never suits a SQL probe.
        return Reading(value, [[_plain(result.first_row[0])]], sample_count=1)


def _plain(number):
    """The number as JSON keeps it (ints stay ints: ``[[2]]``, not ``[[2.0]]``)."""
    return number if isinstance(number, int | float) else float(number)
