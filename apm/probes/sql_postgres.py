"""PostgreSQL for ``sql`` probes: a fresh connection per run, as the probes' own role.

What keeps a probe from writing, locking or reading server files is PostgreSQL
itself, not a parser of ours:

- **one statement**: the text goes through the extended query protocol (Parse),
  where the server refuses a second statement ("cannot insert multiple commands
  into a prepared statement"), however quotes, comments or escapes are nested;
- **read-only**: ``BEGIN READ ONLY`` (and ``default_transaction_read_only`` for
  the session); a snapshot is taken before the probe text runs, so the probe
  cannot switch the transaction to read-write; the transaction is rolled back;
- **privileges**: the role is checked on every connection (not a superuser, not
  the app's role, no server-file, signal or all-stats role) and should hold
  SELECT on a reporting schema only (docs/SQL_PROBES.md);
- **time**: ``statement_timeout``, ``lock_timeout`` and
  ``idle_in_transaction_session_timeout`` for the session;
- **no state survives**: each run is a new session, closed afterwards, so no
  advisory lock, setting or prepared statement outlives it.

Saving a baseline only parses and describes the text (Parse + Describe): the
server resolves names and result types and executes nothing.
"""

from __future__ import annotations

import contextlib
import math
import select
from collections.abc import Iterator
from decimal import Decimal

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from psycopg import pq

from apm.probes.base import NotANumber, ProbeError, UnsafeProbeDatabase
from apm.probes.sql_result import Column, Result
from hms_site.probe_database import VARIABLE, effective_user

# libpq connection keywords a DATABASES entry's OPTIONS may pass on (TLS and such).
LIBPQ_OPTIONS = (
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl",
    "channel_binding", "gssencmode", "target_session_attrs", "passfile", "service",
)  # fmt: skip
# Predefined roles that read server files, run programs, signal other sessions or see
# their queries: a probe role holding any of them is refused.
DANGEROUS_ROLES = [
    "pg_read_server_files", "pg_write_server_files", "pg_execute_server_program",
    "pg_signal_backend", "pg_read_all_stats", "pg_monitor", "pg_read_all_data",
    "pg_write_all_data",
]  # fmt: skip
ROLE_CHECK = """
SELECT r.rolsuper, r.rolcreaterole, current_user::text,
       ARRAY(SELECT b.rolname::text FROM pg_roles b
             WHERE b.rolname = ANY(%s) AND pg_has_role(current_user, b.oid, 'MEMBER')
             ORDER BY 1)
FROM pg_roles r WHERE r.rolname = current_user
"""
NUMERIC_TYPES = {20, 21, 23, 700, 701, 1700}  # int8, int2, int4, float4, float8, numeric
ROW_COUNT_LIMIT = 10  # rows are counted up to this; each row is read (a huge text value too)
# Why a run failed, by SQLSTATE: the server's own message is withheld at run time,
# because a message can quote the data the query read ("invalid input syntax ... 'x'").
HINTS = {
    "57014": "the statement ran past APM_SQL_TIMEOUT_SECONDS",
    "55P03": "a lock it needed was not free within the lock timeout",
    "25006": "it tried to write: probes run in a read-only transaction",
    "25001": "it tried to change the transaction: probes run in a read-only transaction",
    "42501": "the probe role lacks a privilege it needs",
    "42601": "a syntax error, or more than one statement",
    "42P01": "a table it reads does not exist",
    "42703": "a column it reads does not exist",
    "42883": "a function it calls does not exist",
    "22012": "division by zero",
}


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _positional(query: str, params: dict | None) -> tuple[str, list | None]:
    """``%(name)s`` → ``$n::timestamptz`` and the text values libpq binds (never the text)."""
    if not params:
        return query, None
    order = list(params)
    text = query
    for n, name in enumerate(order, start=1):
        text = text.replace(f"%({name})s", f"${n}::timestamptz")
    values = [None if params[n] is None else params[n].isoformat().encode() for n in order]
    return text, values


class PostgresEngine:
    def __init__(self, db: dict, timeout: float):
        self.db = db
        self.timeout = timeout

    # --- save time -----------------------------------------------------------------
    def describe(self, query: str, params: dict | None = None) -> list[Column]:
        """The result columns of ``query``, from Parse + Describe (nothing is executed)."""
        text, _values = _positional(query, params)
        try:
            with self._transaction(ValidationError) as conn:
                pgconn = conn.pgconn
                parsed = pgconn.prepare(b"", text.encode("utf-8"))
                if parsed.status != pq.ExecStatus.COMMAND_OK:
                    raise ValidationError(f"the database refused the query: {_message(parsed)}")
                described = pgconn.describe_prepared(b"")
                if described.status != pq.ExecStatus.COMMAND_OK:
                    raise ValidationError(f"the database refused the query: {_message(described)}")
                return [
                    Column(
                        _type_name(conn, described.ftype(i)),
                        described.ftype(i) in NUMERIC_TYPES,
                    )
                    for i in range(described.nfields)
                ]
        except psycopg.Error as exc:
            raise ValidationError(f"the database refused the query: {_first_line(exc)}") from None

    # --- run time ------------------------------------------------------------------
    def fetch(self, query: str, params: dict | None = None) -> Result:
        """The first row, how many rows (counted up to ROW_COUNT_LIMIT) and columns.

        Spoken with libpq directly: ``send_query_params`` is the extended protocol
        (Parse/Bind/Execute) even without parameters, single-row mode reads no more
        than needed, and a value that is not of a numeric type is never decoded.
        """
        try:
            return self._fetch(*_positional(query, params))
        except psycopg.Error as exc:  # the connection failed mid-run
            raise ProbeError(
                f"the query failed: the probe database connection broke ({type(exc).__name__})"
            ) from None

    def _fetch(self, query: str, values: list | None = None) -> Result:
        with self._transaction(ProbeError) as conn:
            pgconn = conn.pgconn
            pgconn.send_query_params(query.encode("utf-8"), values)
            pgconn.set_single_row_mode()
            first, count, columns = None, 0, 0
            while count <= ROW_COUNT_LIMIT and (result := _next_result(pgconn)) is not None:
                status = result.status
                if status == pq.ExecStatus.SINGLE_TUPLE:
                    count += 1
                    columns = result.nfields
                    if count == 1:
                        first = tuple(_value(conn, result, c) for c in range(columns))
                elif status == pq.ExecStatus.TUPLES_OK:
                    columns = result.nfields
                elif status == pq.ExecStatus.FATAL_ERROR:
                    raise _refused(result)
                else:  # COMMAND_OK (DO, SET, ...), COPY_OUT, COPY_IN: not a SELECT
                    raise ProbeError(
                        "the query failed: it is not a SELECT returning rows (e.g. COPY, DO, SET)"
                    )
            # More rows than counted: the session is closed unread (_transaction).
            return Result(first, min(count, ROW_COUNT_LIMIT), count > ROW_COUNT_LIMIT, columns)

    # --- the connection --------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self, error: type[Exception]) -> Iterator[psycopg.Connection]:
        ms = _milliseconds(self.timeout)
        timeouts = {
            "statement_timeout": ms,
            "lock_timeout": max(1, ms // 2),  # a lock wait ends before the statement does
            "idle_in_transaction_session_timeout": 2 * ms + 1000,
        }
        options = " ".join(f"-c {name}={value}" for name, value in timeouts.items())
        try:
            conn = psycopg.connect(
                **self._params(),
                autocommit=True,
                connect_timeout=max(2, math.ceil(self.timeout)),
                application_name="hms-sql-probe",
                client_encoding="utf8",
                options=f"-c default_transaction_read_only=on {options}",
            )
        except psycopg.Error as exc:
            raise error(
                f"{VARIABLE}: the probe database is unreachable: {_first_line(exc)}"
            ) from None
        try:
            conn.execute("BEGIN READ ONLY")
            self._refuse_unsafe_role(conn, error)  # also takes the transaction's snapshot
            yield conn
        finally:
            # A new session per run: closing it ends the transaction and releases any
            # lock (advisory or not) the probe text took.
            conn.close()

    def _params(self) -> dict:
        db = self.db
        params = {
            "dbname": db.get("NAME"),
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
        }
        options = db.get("OPTIONS") or {}
        params.update({k: v for k, v in options.items() if k in LIBPQ_OPTIONS})
        return {k: v for k, v in params.items() if v is not None}

    def _refuse_unsafe_role(self, conn: psycopg.Connection, error: type[Exception]) -> None:
        row = conn.execute(ROLE_CHECK, [DANGEROUS_ROLES], prepare=False).fetchone()
        superuser, createrole, role, granted = row
        reason = ""
        if superuser:
            reason = "is a superuser"
        elif createrole:
            reason = "may create roles (CREATEROLE)"
        elif granted:
            reason = f"is a member of {', '.join(granted)}"
        else:
            app = settings.DATABASES["default"]
            if app["ENGINE"] == self.db["ENGINE"] and effective_user(app) == role:
                reason = "is the app's own role (DATABASE_URL)"
        if reason:
            raise (UnsafeProbeDatabase if error is ProbeError else error)(
                f"{VARIABLE} connects as role {role!r}, which {reason}: SQL probes need a "
                "role with SELECT on a reporting schema only (docs/SQL_PROBES.md)"
            )


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """``PQgetResult`` without blocking the process: wait on the socket (GIL released)."""
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [], 1.0)
        pgconn.consume_input()
    return pgconn.get_result()


def _value(conn: psycopg.Connection, result: pq.abc.PGresult, column: int):
    """A numeric column's value as a number; any other type only by its name."""
    raw = result.get_value(0, column)
    oid = result.ftype(column)
    if raw is None:
        return None
    if oid not in NUMERIC_TYPES:
        return NotANumber(_type_name(conn, oid))
    text = raw.decode("ascii")
    if oid == 1700:
        return Decimal(text)
    return float(text) if oid in (700, 701) else int(text)


def _refused(result: pq.abc.PGresult) -> ProbeError:
    code = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode() or "?????"
    try:
        name = psycopg.errors.lookup(code).__name__
    except KeyError:
        name = "DatabaseError"
    hint = HINTS.get(code, "the database's message is withheld: it can quote data")
    return ProbeError(
        f"the query failed: PostgreSQL refused it with SQLSTATE {code} ({name}: {hint})",
        code=code,
    )


def _message(result: pq.PGresult) -> str:
    primary = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b""
    code = result.error_field(pq.DiagnosticField.SQLSTATE) or b""
    text = primary.decode("utf-8", "replace") or "unknown error"
    return f"{text} (SQLSTATE {code.decode()})" if code else text


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _type_name(conn: psycopg.Connection, oid: int) -> str:
    info = conn.adapters.types.get(oid)
    return info.name if info else f"type oid {oid}"
