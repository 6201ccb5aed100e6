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
"""

from __future__ import annotations

from django.db import connection


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
