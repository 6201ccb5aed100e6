"""Rows of a small read on PostgreSQL: planned once per connection, and its round trip
off the caller's path.

Django speaks psycopg with client-side binding and prepared statements off
(``prepare_threshold`` None): each statement is sent as text, parsed and planned
anew. A small read over three tables (the backtest's routes and policies) spends
most of its time there: as an unnamed statement its round trip was ~0.55 ms at load
3, prepared ~0.13 ms (bench/README.md). Here such a read is a named prepared
statement (``hms_`` and a digest of its text), prepared on first use per connection
(remembered per psycopg connection object: a new connection prepares again).
Prepared statements are not transactional: a rollback keeps them. psycopg's own
prepared statements are not used (psycopg deallocates all of them, and so ours, on
a rollback or DROP); a ``DEALLOCATE``/``DISCARD ALL`` from elsewhere (psycopg sends
``DEALLOCATE ALL`` after a rollback once it holds prepared statements of its own, as
``apm.steady_runs`` makes) is met by preparing again. That is possible only outside a
transaction (inside one the failed statement would abort it), so inside a transaction
the read runs as a plain statement.

``fetchall_beside`` sends the statement (libpq's PQsendQueryPrepared: Bind, Execute
and Sync in one batch), runs some work (the backtest's ``query_range``) while
PostgreSQL executes it, and reads the rows after, on the same connection and thread
(no pool thread, nothing handed between threads) and with nothing sent after the
work: the answer and the server's ReadyForQuery are waiting in the socket when it
ends (psycopg's pipeline mode sends a second Sync on leaving the pipeline and waits
for it: a round trip after the work). The statement passes through Django's execute
wrappers when sent, its errors are Django's, and it is in the query log when queries
are logged. Its parameters and columns are of a few plain types (``_text`` and
``_LOADERS``). Other backends, and a connection that is not psycopg 3's, run it as
usual (the work after it).
"""

from __future__ import annotations

import hashlib
import select
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.asyncio import async_unsafe

T = TypeVar("T")


def fetchall(sql: str, params: list) -> list[tuple]:
    """``cursor.execute(sql, params); cursor.fetchall()``, prepared on PostgreSQL."""
    return fetchall_beside(sql, params, _nothing)[0]


def _nothing() -> None:
    return None


PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> names


@async_unsafe
def fetchall_beside(sql: str, params: list, work: Callable[[], T]) -> tuple[list, T]:
    """``(fetchall(sql, params), work())``; on PostgreSQL (psycopg 3) the statement is sent
    first, ``work`` runs while the server answers it, then its rows are read. ``work`` must
    not use the database connection. Parameters: bool, int, str or None; columns: bool,
    integers, double precision (its text is exact: with ``extra_float_digits`` at its default,
    PostgreSQL 12+ writes the shortest form that reads back to the same bits), text (or
    NULL)."""
    db = connections[DEFAULT_DB_ALIAS]  # the proxy's connection, looked up once
    raw = _idle_psycopg(db)
    if raw is None:  # inside a transaction a statement deallocated elsewhere would abort it
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall(), work()
    pgconn = raw.pgconn
    name = b"hms_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest().encode()
    prepared = PREPARED.setdefault(raw, set())
    with raw.lock:  # the connection is this statement's until its answer is read
        started = time.monotonic()
        if name not in prepared:
            prepare(pgconn, name, sql, raw)
            prepared.add(name)
        if db.execute_wrappers:  # as Django calls them: with its cursor in the context
            with db.cursor() as cursor:
                executor = partial(_send, pgconn, name)
                for wrapper in reversed(db.execute_wrappers):
                    executor = partial(wrapper, executor)
                executor(sql, params, False, {"connection": db, "cursor": cursor})
        else:
            _send(pgconn, name, sql, params, False, None)
        try:
            done = work()
        finally:
            results = answer(pgconn)  # read even when the work failed
        if forgotten(results):
            prepare(pgconn, name, sql, raw)  # deallocated elsewhere: again, at once
            _send(pgconn, name, sql, params, False, None)
            results = answer(pgconn)
        if db.queries_logged:
            took = time.monotonic() - started
            db.queries_log.append({"sql": f"{sql} -- {params!r}", "time": f"{took:.3f}"})
    return rows_of(results, raw), done


def _idle_psycopg(db):
    """The connection's psycopg 3 connection when no transaction is open on it, after the
    checks Django makes before handing out a cursor (``BaseDatabaseWrapper._cursor``:
    health check, connecting, thread sharing); else None (run it the usual way)."""
    if db.vendor != "postgresql":
        return None
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    if not hasattr(raw, "pgconn") or raw.pgconn.transaction_status != IDLE:
        return None
    return raw


IDLE = 0  # PQTRANS_IDLE: no transaction open (autocommit)


def forgotten(results: list) -> bool:
    """The statement's name is unknown to the server (SQLSTATE 26000)."""
    return any(r.error_field(_SQLSTATE) == b"26000" for r in results)


_SQLSTATE = 67  # PG_DIAG_SQLSTATE


def _numbered(sql: str, count: int) -> bytes:
    """``%s`` as ``$1``, ``$2``…"""
    parts = sql.split("%s")
    if len(parts) != count + 1 or "%" in sql.replace("%s", ""):
        raise ValueError("prepared_reads: one %s per parameter and no other %")
    return (parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))).encode()


def prepare(pgconn, name: bytes, sql: str, raw, numbered: bytes | None = None) -> None:
    """PREPARE (a Parse and Sync), waited for: once per connection and statement."""
    with connection.wrap_database_errors:
        pgconn.send_prepare(name, numbered or _numbered(sql, sql.count("%s")))
        flush(pgconn)
    results = answer(pgconn)
    for result in results:
        if result.error_field(_SQLSTATE) == b"42P05":  # already there (prepared before)
            return
    rows_of(results, raw, command=True)


def _send(pgconn, name: bytes, sql: str, params, many, context) -> None:
    """PQsendQueryPrepared (its own Sync) and the output flushed."""
    with connection.wrap_database_errors:
        pgconn.send_query_prepared(name, [_text(p) for p in params])
        flush(pgconn)


def flush(pgconn) -> None:
    while pgconn.flush():  # nonblocking: the rest once the socket takes it
        _wait(pgconn.socket, select.POLLOUT)


def _text(value) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int | str):
        return str(value).encode()
    raise TypeError(f"fetchall_beside: a {type(value).__name__} parameter")


def answer(pgconn) -> list:
    """Every result of the statement (libpq's PQgetResult until none), waiting as needed."""
    results = []
    with connection.wrap_database_errors:
        while True:
            while pgconn.is_busy():
                _wait(pgconn.socket, select.POLLIN)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                return results
            results.append(result)


def _wait(fd: int, event: int) -> None:
    poller = select.poll()
    poller.register(fd, event)
    poller.poll()


_LOADERS = {16: lambda b: b == b"t", 20: int, 21: int, 23: int, 26: int, 701: float,
            18: bytes.decode, 19: bytes.decode, 25: bytes.decode, 1043: bytes.decode}  # fmt: skip


def rows_of(results: list, raw, command: bool = False) -> list[tuple]:
    import psycopg

    ok = psycopg.pq.ExecStatus.COMMAND_OK if command else psycopg.pq.ExecStatus.TUPLES_OK
    with connection.wrap_database_errors:
        for result in results:
            if result.status != ok:
                raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    if command:
        return []
    [result] = results
    loads = [_LOADERS[result.ftype(j)] for j in range(result.nfields)]
    columns = range(len(loads))
    return [
        tuple(None if (v := result.get_value(i, j)) is None else loads[j](v) for j in columns)
        for i in range(result.ntuples)
    ]
