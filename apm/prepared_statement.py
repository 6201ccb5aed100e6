"""One statement on PostgreSQL's libpq connection, its parameters already in their text
form: the watchdog's steady run (``apm.steady_runs``), without Django's cursor or
psycopg's adaptation of each value.

``apm.prepared_reads`` sends a read by name through libpq, adapting a few plain
types itself; this is the same, for a statement whose caller has put every value
in PostgreSQL's text form once (``bytes``, or ``None`` for NULL): the statement is
numbered ``$1``… by the caller (so a value used in several places is sent once)
and prepared without parameter types (PostgreSQL infers each from where it is
used, as for an untyped literal). Outside a transaction it is prepared by name
once per connection (again when something deallocated it, SQLSTATE 26000);
inside one (where a statement refused for a forgotten name would abort the
transaction) it is sent unnamed, parsed each time.

What Django's cursor gives a statement is kept: the connection's checks (health,
thread sharing, a broken transaction), the execute wrappers (called with the
numbered text and the text values; ``context["cursor"]`` is ``None``: there is no
cursor), Django's errors, and an entry in the query log when queries are logged.
PostgreSQL with psycopg 3 only (``usable``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DateField, DateTimeField, Field

# The names prepared per connection are shared with prepared_reads' (digests of the texts).
from apm.prepared_reads import IDLE, PREPARED, answer, flush, forgotten, prepare, rows_of

Texts = list[bytes | None]


def usable() -> bool:
    """PostgreSQL through psycopg 3 (the libpq connection this module speaks): the
    default database's engine, which a process does not change (asked once)."""
    return _usable(type(connections[DEFAULT_DB_ALIAS]))


@functools.cache
def _usable(backend: type) -> bool:
    if backend.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


class PreparedStatement:
    """A statement numbered ``$1``…, run with ``rows(texts)``."""

    def __init__(self, sql: str):
        self.sql = sql
        self.numbered = sql.encode()
        self.name = b"hms_" + hashlib.blake2b(self.numbered, digest_size=10).hexdigest().encode()

    def rows(self, texts: Texts) -> list[tuple]:
        """The statement's rows (bool, integer and text columns: ``prepared_reads``)."""
        db = connections[DEFAULT_DB_ALIAS]  # the proxy's connection, looked up once
        db.close_if_health_check_failed()
        db.ensure_connection()
        db.validate_thread_sharing()
        db.validate_no_broken_transaction()
        started = time.monotonic()
        executor = partial(self._run, db)
        for wrapper in reversed(db.execute_wrappers):
            executor = partial(wrapper, executor)
        rows = executor(self.sql, texts, False, {"connection": db, "cursor": None})
        if db.queries_logged:
            took = time.monotonic() - started
            entry = {"sql": f"{self.sql} -- {texts!r}", "time": f"{took:.3f}"}
            db.queries_log.append(entry)
        return rows

    def _run(self, db, sql, texts, many, context) -> list[tuple]:
        """The statement sent and its rows read, or its error raised (what the execute
        wrappers wrap, as a cursor's execute: the connection is free when it returns)."""
        raw = db.connection
        pgconn = raw.pgconn
        with raw.lock:  # the connection is this statement's until its answer is read
            named = pgconn.transaction_status == IDLE
            self._send(db, pgconn, raw, named, texts)
            results = answer(pgconn)
            if named and forgotten(results):  # deallocated elsewhere: again, at once
                PREPARED.get(raw, set()).discard(self.name)
                self._send(db, pgconn, raw, named, texts)
                results = answer(pgconn)
        return _rows(results, raw)

    def _send(self, db, pgconn, raw, named: bool, texts) -> None:
        """Bind, Execute and Sync (PQsendQueryPrepared, or PQsendQueryParams unnamed)."""
        if not named:
            with db.wrap_database_errors:
                pgconn.send_query_params(self.numbered, texts)
                flush(pgconn)
            return
        prepared = PREPARED.setdefault(raw, set())
        if self.name not in prepared:
            prepare(pgconn, self.name, self.sql, raw, self.numbered)
            prepared.add(self.name)
        with db.wrap_database_errors:
            pgconn.send_query_prepared(self.name, texts)
            flush(pgconn)


_TUPLES_OK = 2  # PGRES_TUPLES_OK (psycopg.pq.ExecStatus.TUPLES_OK)


def _rows(results: list, raw) -> list[tuple]:
    """``prepared_reads.rows_of``: the usual answer (one result of rows, each of integer
    columns) read here; anything else, an error among it, read there."""
    result = results[0] if len(results) == 1 else None
    if result is None or result.status != _TUPLES_OK:
        return rows_of(results, raw)
    columns = range(result.nfields)
    if not all(result.ftype(j) in _INTEGERS for j in columns):
        return rows_of(results, raw)
    return [
        tuple(None if (v := result.get_value(i, j)) is None else int(v) for j in columns)
        for i in range(result.ntuples)
    ]


_INTEGERS = {20, 21, 23}  # int8, int2, int4: prepared_reads' loaders read them with int


# --- a model field's value in PostgreSQL's text form (worked out once per field) ------


def _int_text(field):
    return lambda value: str(int(value)).encode()


_FLOAT_SPECIAL = {math.inf: b"Infinity", -math.inf: b"-Infinity"}


def _float_text(field):
    def text(value) -> bytes:
        number = float(value)  # FloatField.get_prep_value
        if math.isfinite(number):
            return repr(number).encode()  # the shortest text that reads back as the float
        return b"NaN" if math.isnan(number) else _FLOAT_SPECIAL[number]

    return text


def _str_text(field):
    return lambda value: (value if isinstance(value, str) else str(value)).encode()


def _bool_text(field):
    return lambda value: b"t" if field.to_python(value) else b"f"


def _datetime_text(field):
    def text(value) -> bytes:
        if not (isinstance(value, datetime) and value.tzinfo is not None):
            value = field.get_db_prep_save(value, connection)  # naive: Django's own rule
        return value.isoformat().encode()

    return text


def _json_text(field):
    return lambda value: json.dumps(value, cls=field.encoder).encode()  # as psycopg's Jsonb


_TEXT_BY_TYPE = {
    "BigAutoField": _int_text, "AutoField": _int_text, "BigIntegerField": _int_text,
    "IntegerField": _int_text, "PositiveIntegerField": _int_text, "FloatField": _float_text,
    "CharField": _str_text, "TextField": _str_text, "BooleanField": _bool_text,
    "DateTimeField": _datetime_text, "JSONField": _json_text,
}  # fmt: skip


# pre_save that only reads the attribute, or stamps the moment (auto_now, auto_now_add)
_PLAIN_PRE_SAVE = {Field.pre_save, DateField.pre_save, DateTimeField.pre_save}


def text_of(field) -> Callable[[Any], bytes]:
    """A function of ``field``'s (non-NULL) value to its text: what the ORM's INSERT
    sends (``get_db_prep_save``, then psycopg's dumping), for the types below; a
    ``TypeError`` for any other type, or a field whose ``pre_save`` does more than
    read the attribute or stamp the moment (the caller stamps it)."""
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind not in _TEXT_BY_TYPE or type(field).pre_save not in _PLAIN_PRE_SAVE:
        raise TypeError(f"no text form for {field.model.__name__}.{field.name} ({kind})")
    return _TEXT_BY_TYPE[kind](target)
