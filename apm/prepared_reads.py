"""Rows of a small read, on PostgreSQL without its round trip on the caller's path.

Django speaks psycopg with client-side binding and prepared statements off
(``prepare_threshold`` None): each statement is sent as text, parsed and planned
anew. A small read over three tables (the backtest's routes and policies) spends
most of its time in the planner (0.19 ms planning, 0.05 ms executing). ``fetchall``
runs such a statement on a server-binding cursor with psycopg's prepared statements
on for that one execution: psycopg names and tracks it per connection (a new
connection prepares again; a rollback, ``DISCARD ALL`` or ``DEALLOCATE ALL`` forgets
it) and PostgreSQL keeps a generic plan after five runs. The cursor is wrapped as
Django wraps its own (execute wrappers, the query log, error translation) after
Django's own checks (health check, connecting, thread sharing). Other backends,
and a connection that is not psycopg 3's, run the statement as usual.

``fetchall_beside`` sends the statement, runs some work (the backtest's
``query_range``) while PostgreSQL parses, plans and executes it, and reads the rows
after: on the same connection and thread (no pool thread, nothing handed between
threads), with one message batch out (Parse, Bind, Execute and Sync, libpq's
``PQsendQueryParams``) and nothing sent after it, so the answer and the server's
ReadyForQuery are waiting in the socket when the work ends. (psycopg's pipeline mode
sends a second Sync on leaving the pipeline and waits for its answer: a second round
trip after the work, measured in bench/README.md.) The statement passes through
Django's execute wrappers when sent, its errors are Django's, and it is in the query
log when queries are logged. Its parameters and columns are of a few plain types
(``_TEXT`` and ``_LOADERS``).
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def fetchall(sql: str, params: list) -> list[tuple]:
    """``cursor.execute(sql, params); cursor.fetchall()``, prepared on PostgreSQL."""
    with connection.cursor() as cursor:  # Django's checks; the statement on it elsewhere
        raw = getattr(cursor.cursor, "connection", None)
        if connection.vendor != "postgresql" or not hasattr(raw, "prepare_threshold"):
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg  # only with psycopg 3 (the check above)

    before = raw.prepare_threshold
    raw.prepare_threshold = 0  # this execution only: prepared (or reused) by its text
    try:
        with connection._prepare_cursor(psycopg.Cursor(raw)) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        raw.prepare_threshold = before


def fetchall_beside(sql: str, params: list, work: Callable[[], T]) -> tuple[list, T]:
    """``(fetchall(sql, params), work())``; on PostgreSQL (psycopg 3) the statement is sent
    first, ``work`` runs while the server answers it, then its rows are read. ``work`` must
    not use the database connection. Parameters: bool, int, str or None; columns: bool,
    integers, text (or NULL)."""
    with connection.cursor() as cursor:  # Django's checks (connecting, thread sharing)
        raw = getattr(cursor.cursor, "connection", None)
        if connection.vendor != "postgresql" or not hasattr(raw, "pgconn"):
            cursor.execute(sql, params)
            return cursor.fetchall(), work()
        pgconn = raw.pgconn
        with raw.lock:  # the connection is this statement's until its answer is read
            started = time.monotonic()
            executor = partial(_send, pgconn)
            for wrapper in reversed(connection.execute_wrappers):
                executor = partial(wrapper, executor)
            executor(sql, params, False, {"connection": connection, "cursor": cursor})
            try:
                done = work()
            finally:
                results = _answer(pgconn)  # read even when the work failed
            if connection.queries_logged:
                took = time.monotonic() - started
                entry = {"sql": f"{sql} -- {params!r}", "time": f"{took:.3f}"}
                connection.queries_log.append(entry)
    return _rows(results, raw), done


def _send(pgconn, sql: str, params, many, context) -> None:
    """PQsendQueryParams (its own Sync) and the output flushed: ``%s`` are ``$1``, ``$2``…"""
    parts = sql.split("%s")
    if len(parts) != len(params) + 1 or "%" in sql.replace("%s", ""):
        raise ValueError("fetchall_beside: one %s per parameter and no other %")
    text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    with connection.wrap_database_errors:
        pgconn.send_query_params(text.encode(), [_text(p) for p in params])
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


def _answer(pgconn) -> list:
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


_LOADERS = {16: lambda b: b == b"t", 20: int, 21: int, 23: int, 26: int,
            18: bytes.decode, 19: bytes.decode, 25: bytes.decode, 1043: bytes.decode}  # fmt: skip


def _rows(results: list, raw) -> list[tuple]:
    import psycopg

    with connection.wrap_database_errors:
        for result in results:
            if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
                raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    [result] = results
    loads = [_LOADERS[result.ftype(j)] for j in range(result.nfields)]
    columns = range(len(loads))
    return [
        tuple(None if (v := result.get_value(i, j)) is None else loads[j](v) for j in columns)
        for i in range(result.ntuples)
    ]
