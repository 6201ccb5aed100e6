"""``sql``: one number from one SELECT, run read-only with a statement timeout.

PostgreSQL: ``SET TRANSACTION READ ONLY`` + ``SET LOCAL statement_timeout``.
SQLite: ``PRAGMA query_only`` + a progress handler that interrupts the query
at the deadline. Either way the work is rolled back afterwards, so a probe can
never change data, nor leave the caller's transaction read-only.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from decimal import Decimal

import sqlparse
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from apm.probes.base import Probe, ProbeError, ProbeKind, Reading, Verification, register

TIMEOUT_SECONDS = 5.0  # settings.APM_SQL_TIMEOUT_SECONDS overrides


def _timeout() -> float:
    return SqlProbe.run_timeout()


def only_one_select(query: str) -> str:
    """The query without a trailing ``;``, or a ValidationError saying why it is refused."""
    statements = [s for s in sqlparse.split(query) if s.strip().rstrip(";").strip()]
    if len(statements) != 1:
        raise ValidationError(f"give exactly one SELECT statement (found {len(statements)})")
    statement = sqlparse.parse(statements[0])[0]
    if statement.get_type() != "SELECT":
        raise ValidationError(
            f"only a SELECT is allowed (this is {statement.get_type().lower() or 'not SQL'})"
        )
    return statements[0].strip().rstrip(";").strip()


@contextlib.contextmanager
def read_only_cursor(timeout: float | None = None):
    timeout = _timeout() if timeout is None else timeout
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            try:
                yield cursor
            finally:
                transaction.set_rollback(True)
        else:
            raw = connection.connection
            deadline = time.monotonic() + timeout
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            cursor.execute("PRAGMA query_only = ON")
            try:
                yield cursor
            finally:
                cursor.execute("PRAGMA query_only = OFF")
                raw.set_progress_handler(None, 0)
                transaction.set_rollback(True)


@register
class SqlProbe(Probe):
    kind = ProbeKind.SQL
    timeout_setting, default_timeout = "APM_SQL_TIMEOUT_SECONDS", TIMEOUT_SECONDS

    def check(self, query: str) -> Verification:
        statement = only_one_select(query)
        try:
            with read_only_cursor() as cursor:
                # EXPLAIN plans without running: catches unknown tables and syntax errors.
                cursor.execute(f"EXPLAIN {statement}")
        except DatabaseError as exc:
            raise ValidationError(f"the database refused the query: {exc}") from exc
        return Verification(True, "the database planned the query")

    def measure(self, query: str, at: datetime) -> Reading:
        try:
            statement = only_one_select(query)
        except ValidationError as exc:
            raise ProbeError(exc.messages[0]) from exc
        try:
            with read_only_cursor() as cursor:
                cursor.execute(statement)
                rows = cursor.fetchmany(2)
                width = len(cursor.description or ())
        except DatabaseError as exc:
            raise ProbeError(f"the query failed: {exc}") from exc
        raw = [[_jsonable(v) for v in row] for row in rows]
        if not rows:
            return Reading(None, raw, "the query returned no rows")
        if len(rows) > 1 or width != 1:
            raise ProbeError("the query must return one row with one column")
        value = rows[0][0]
        if value is None:
            return Reading(None, raw, "the query returned NULL")
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ProbeError(f"the query returned {type(value).__name__} {value!r}, not a number")
        return Reading(float(value), raw)


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
