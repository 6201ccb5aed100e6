"""SQLite for ``sql`` probes: the probe database file, opened read-only per run.

SQLite itself refuses what a probe must not do:

- the file is opened with ``mode=ro`` (a write is "attempt to write a readonly
  database") and ``PRAGMA query_only``;
- an authorizer allows reading tables, calling functions and recursive CTEs
  only: ATTACH, PRAGMA, transactions and every write are denied while the
  statement is compiled;
- one statement: ``sqlite3`` refuses text after the first statement;
- a progress handler interrupts the statement at the timeout.

Saving a baseline compiles the text with ``EXPLAIN`` (under the same
authorizer), which lists the program without running it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.core.exceptions import ValidationError

from apm.probes.base import ProbeError
from apm.probes.sql_result import Column, Result
from hms_site.probe_database import VARIABLE

ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
ALLOWED.add(sqlite3.SQLITE_RECURSIVE)
ROW_COUNT_LIMIT = 10  # rows are counted up to this; each row is read (a huge text value too)
HINTS = {
    "SQLITE_INTERRUPT": "the statement ran past APM_SQL_TIMEOUT_SECONDS",
    "SQLITE_AUTH": "it does more than read: probes may only SELECT",
    "SQLITE_READONLY": "it tried to write: the probe database is opened read-only",
    "SQLITE_BUSY": "the probe database was locked",
}


def _authorize(action, arg1, arg2, db_name, trigger):
    return sqlite3.SQLITE_OK if action in ALLOWED else sqlite3.SQLITE_DENY


def _named(query: str, params: dict | None) -> tuple[str, dict]:
    """``%(name)s`` → ``:name``, bound to ISO-8601 UTC text (SQLite's own date format)."""
    if not params:
        return query, {}
    text = query
    for name in params:
        text = text.replace(f"%({name})s", f":{name}")
    values = {
        name: None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")
        for name, value in params.items()
    }
    return text, values


class SqliteEngine:
    def __init__(self, db: dict, timeout: float):
        self.path = Path(db["NAME"])
        self.timeout = timeout

    def describe(self, query: str, params: dict | None = None) -> list[Column]:
        """One Column per value the compiled program returns (``ResultRow``'s width)."""
        text, values = _named(query, params)
        try:
            with self._connection(ValidationError) as conn:
                program = conn.execute(f"EXPLAIN {text}", values).fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise ValidationError(f"the database refused the query: {exc}") from None
        widths = {row[3] for row in program if row[1] == "ResultRow"}
        if not widths:
            return []
        return [Column("unknown until run", None)] * max(widths)

    def fetch(self, query: str, params: dict | None = None) -> Result:
        text, values = _named(query, params)
        try:
            with self._connection(ProbeError) as conn:
                cursor = conn.execute(text, values)
                columns = len(cursor.description or ())
                rows = cursor.fetchmany(ROW_COUNT_LIMIT + 1)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
            hint = HINTS.get(name, "the database's message is withheld: it can quote data")
            raise ProbeError(
                f"the query failed: SQLite refused it with {name} ({hint})", code=name
            ) from None
        count = min(len(rows), ROW_COUNT_LIMIT)
        return Result(rows[0] if rows else None, count, len(rows) > ROW_COUNT_LIMIT, columns)

    @contextlib.contextmanager
    def _connection(self, error: type[Exception]) -> Iterator[sqlite3.Connection]:
        if not self.path.is_file():
            raise error(f"{VARIABLE}: no SQLite file at {self.path}")
        deadline = time.monotonic() + self.timeout
        conn = sqlite3.connect(
            f"file:{quote(str(self.path.resolve()))}?mode=ro",
            uri=True,
            timeout=min(self.timeout, 5.0),
            isolation_level=None,
        )
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.set_authorizer(_authorize)
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            yield conn
        finally:
            conn.close()
