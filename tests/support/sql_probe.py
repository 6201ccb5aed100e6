"""The SQL probes' own database for the test run, as production has it.

PostgreSQL: a real LOGIN role ``hms_probe_<test database>`` (not a superuser)
with SELECT on the ``reporting`` schema of the test database only, and
``search_path = reporting``; created idempotently (roles are cluster-global)
and dropped at the end. Needs nothing but the ``postgres`` superuser with
trust auth on 127.0.0.1, as CI has it.

SQLite: a reporting file of its own, which the probe opens read-only.

Both hold the demo's ledger (apm/demo_ledger.py), a ``ledger`` table, and an
``api_keys`` table with ``SECRET``: a value readable by the probe role that
must never appear anywhere a probe's result goes.
"""

from __future__ import annotations

import sqlite3

from django.db import connections
from psycopg import sql

from apm import demo_ledger

SCHEMA = "reporting"
SECRET = "hms-secret-6f1d2c9a8b7e4f3a2d1c0b9a8f7e6d5c"
LEDGER = [(1, 10.5), (2, 20.0)]
TABLES = {
    "ledger": "id INTEGER PRIMARY KEY, amount NUMERIC NOT NULL",
    "api_keys": "owner VARCHAR(100) NOT NULL, secret VARCHAR(100) NOT NULL",
}
SEQUENCE = "ticket_numbers"
ROWS = {"ledger": LEDGER, "api_keys": [("ops-bot", SECRET)]}


def _fill(cursor, placeholder: str, prefix: str) -> None:
    demo_ledger.write(cursor, placeholder, schema=prefix.rstrip("."))
    for table, columns in TABLES.items():
        cursor.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
        cursor.execute(f"CREATE TABLE {prefix}{table} ({columns})")
        marks = ", ".join([placeholder] * len(ROWS[table][0]))
        cursor.executemany(f"INSERT INTO {prefix}{table} VALUES ({marks})", ROWS[table])


def role_name(database: str) -> str:
    return f"hms_probe_{database}"[:63]


def postgres_probe_database() -> tuple[dict, callable]:
    """Create the role and the reporting schema; the probe's settings and a teardown."""
    app = connections["default"]
    database = app.settings_dict["NAME"]
    role = sql.Identifier(role_name(database))
    with app.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "DO $$BEGIN CREATE ROLE {} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"
            ).format(role)
        )
        cursor.execute(
            sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION").format(
                role
            )
        )
        cursor.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(
                role, sql.Identifier(database), sql.Identifier(SCHEMA)
            )
        )
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        _fill(cursor, "%s", f"{SCHEMA}.")
        cursor.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(SCHEMA), role)
        )
        cursor.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                sql.Identifier(SCHEMA), role
            )
        )
        # A sequence the role may even advance: only the read-only transaction stops it.
        cursor.execute(f"DROP SEQUENCE IF EXISTS {SCHEMA}.{SEQUENCE}")
        cursor.execute(f"CREATE SEQUENCE {SCHEMA}.{SEQUENCE}")
        cursor.execute(
            sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
                sql.Identifier(SCHEMA, SEQUENCE), role
            )
        )
    probe = {
        "ENGINE": app.settings_dict["ENGINE"],
        "NAME": database,
        "USER": role_name(database),
        "PASSWORD": "",
        "HOST": app.settings_dict["HOST"],
        "PORT": app.settings_dict["PORT"],
        "OPTIONS": {},
    }

    def drop():
        with app.cursor() as cursor:
            # Any probe session still open would keep the role from being dropped.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [role_name(database)],
            )
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(role))
            cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))

    return probe, drop


def sqlite_probe_database(path) -> tuple[dict, callable]:
    conn = sqlite3.connect(path)
    with conn:
        _fill(conn.cursor(), "?", "")
    conn.close()
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}, lambda: None


def create_probe_database(tmp_path_factory) -> tuple[dict, callable]:
    """The probe database for this test run: its settings and a teardown."""
    if connections["default"].vendor == "postgresql":
        return postgres_probe_database()
    return sqlite_probe_database(tmp_path_factory.mktemp("sql-probe") / "reporting.sqlite3")
