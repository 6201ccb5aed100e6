"""The SQL probes' own database alias, from ``HMS_SQL_PROBE_DATABASE_URL``.

SQL probes run text that staff typed, so they never use the app's connection:
they connect as a role of their own with SELECT on a reporting schema only
(docs/SQL_PROBES.md). This module runs while settings load, so it knows only
the two URLs: it refuses a probe database that is the app's own role or file.
Whether the role is a superuser (or holds a server-file/signal/stats role) can
only be asked of the server; ``apm.probes.sql_postgres`` asks on every
connection and ``hms_site.probe_checks`` at start-up (``manage.py check``).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "HMS_SQL_PROBE_DATABASE_URL"
ALIAS = "sql_probe"
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}


def effective_user(db: dict) -> str:
    """The role libpq logs in as: the URL's user, else ``PGUSER``, else the OS user."""
    return db.get("USER") or os.environ.get("PGUSER") or getpass.getuser()


def _server(db: dict) -> tuple[str, str]:
    host = (db.get("HOST") or os.environ.get("PGHOST") or "").lower()
    host = "localhost" if host in _LOCAL_HOSTS or host.startswith("/") else host
    return host, str(db.get("PORT") or os.environ.get("PGPORT") or 5432)


def probe_database(url: str, default: dict) -> dict:
    """The ``DATABASES`` entry for SQL probes, or ImproperlyConfigured naming the variable."""
    try:
        db = dj_database_url.parse(url, conn_max_age=0)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{VARIABLE}={url!r}: {exc}") from None
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        name = db.get("NAME") or ""
        if not name or name == ":memory:":
            raise ImproperlyConfigured(f"{VARIABLE} must name an SQLite file (sqlite:////path)")
        if default["ENGINE"] == db["ENGINE"] and (
            Path(name).resolve() == Path(str(default["NAME"])).resolve()
        ):
            raise ImproperlyConfigured(
                f"{VARIABLE} points at the app's own database file {name}: SQL probes "
                "read a reporting file of their own (e.g. var/demo-ledger.sqlite3)"
            )
    elif engine == "postgresql":
        if not db.get("NAME"):
            raise ImproperlyConfigured(f"{VARIABLE} must name a database")
        same_server = default["ENGINE"] == db["ENGINE"] and _server(default) == _server(db)
        if same_server and effective_user(default) == effective_user(db):
            raise ImproperlyConfigured(
                f"{VARIABLE} connects as DATABASE_URL's role {effective_user(db)!r}: give "
                "SQL probes a role of their own with SELECT on a reporting schema only "
                "(docs/SQL_PROBES.md)"
            )
    else:
        raise ImproperlyConfigured(f"{VARIABLE}: SQL probes run on PostgreSQL or SQLite")
    # Never migrated, never a test database of its own (hms_site.routers); each probe
    # run opens a fresh connection of its own instead of Django's persistent one.
    db["TEST"] = {"MIGRATE": False}
    return db
