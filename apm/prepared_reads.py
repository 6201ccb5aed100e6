"""Rows of a read PostgreSQL plans once per connection, not once per run.

Django speaks psycopg with client-side binding and prepared statements off
(``prepare_threshold`` None): each statement is sent as text, parsed and planned
anew. A small read over three tables (the backtest's routes and policies) spends
most of its time in the planner (0.19 ms planning, 0.05 ms executing). Here such a
statement runs on a server-binding cursor with psycopg's prepared statements on
for that one execution: psycopg names and tracks it per connection (a new
connection prepares again; a rollback, ``DISCARD ALL`` or ``DEALLOCATE ALL`` forgets
it) and PostgreSQL keeps a generic plan after five runs. The cursor is wrapped as
Django wraps its own (execute wrappers, the query log, error translation) after
Django's own checks (health check, connecting, thread sharing). Other backends,
and a connection that is not psycopg 3's, run the statement as usual.

``fetchall_beside`` sends the statement in psycopg's pipeline mode, runs some work
(the backtest's ``query_range``) while PostgreSQL executes it, and reads the rows after:
the statement's round trip is spent waiting on that work, in the same thread (no pool
thread, no lock or wake-up to hand results over). The server is asked to flush its
answer at once (a Flush message), so the rows are waiting in the socket when read;
leaving the pipeline costs a Sync and its ReadyForQuery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def fetchall(sql: str, params: list) -> list[tuple]:
    """``cursor.execute(sql, params); cursor.fetchall()``, prepared on PostgreSQL."""
    return fetchall_beside(sql, params, None)[0]


def fetchall_beside(sql: str, params: list, work: Callable[[], T] | None) -> tuple[list, T]:
    """``(fetchall(sql, params), work())``; on PostgreSQL (psycopg 3) the statement is
    sent first, ``work`` runs while it executes, then its rows are read. ``work`` must not
    use the database (its statements would join the pipeline)."""
    with connection.cursor() as cursor:  # Django's checks; the statement on it elsewhere
        raw = getattr(cursor.cursor, "connection", None)
        if connection.vendor != "postgresql" or not hasattr(raw, "prepare_threshold"):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            return rows, work() if work is not None else None
    import psycopg  # only with psycopg 3 (the check above)

    before = raw.prepare_threshold
    raw.prepare_threshold = 0  # this execution only: prepared (or reused) by its text
    try:
        if work is None:
            with connection._prepare_cursor(psycopg.Cursor(raw)) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall(), None
        with raw.pipeline(), connection._prepare_cursor(psycopg.Cursor(raw)) as cursor:
            cursor.execute(sql, params)  # sent (Bind, Execute; Parse the first time)
            raw.pgconn.send_flush_request()  # the answer is sent back as soon as it is ready
            raw.pgconn.flush()  # (if not all went out, fetchall flushes the rest)
            done = work()
            return cursor.fetchall(), done
    finally:
        raw.prepare_threshold = before
