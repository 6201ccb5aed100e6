"""The demo's ledger: the data its ``sql`` baselines read, in a reporting file of its own.

SQL probes never read the monitor's own tables (they run as a reporting role,
``HMS_SQL_PROBE_DATABASE_URL``). The embedded default's demo therefore ships
its ledger as an SQLite file, ``var/demo-ledger.sqlite3``, which ``make run``
(scripts/run.sh) builds and points ``HMS_SQL_PROBE_DATABASE_URL`` at; probes
open it read-only. The same tables can be written into a PostgreSQL reporting
schema (the tests do) with ``write(cursor, "%s")``.

Deterministic: 100 recent watchdog evaluations of which 3 failed (3 % against
the demo's "at most 5 %": kept, so a first run raises no false alarm), and 20
active probes of which 19 are verified (95 % against "at least 90 %": ok); and
the Fast-Track Housing program's 42 decided applications of the last 30 days,
waiting 24.5 days on average (the seed's "average wait at most 30 days": kept).

Usage: ``python -m apm.demo_ledger var/demo-ledger.sqlite3`` (no Django needed)
prints the file's absolute path.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Portable DDL: the same text works on SQLite and PostgreSQL.
TABLES = {
    "watchdog_evaluations": (
        "id INTEGER PRIMARY KEY, evaluated_at TIMESTAMP NOT NULL, status VARCHAR(16) NOT NULL"
    ),
    "probes": "name VARCHAR(200) PRIMARY KEY, active BOOLEAN NOT NULL, verified BOOLEAN NOT NULL",
    # The Fast-Track Housing program's case system: the last 30 days' decided applications.
    "housing_decisions": "id INTEGER PRIMARY KEY, wait_days NUMERIC NOT NULL",
}
# 42 decisions waiting 18..31 days: an average of 24.5 days against "at most 30".
HOUSING_WAITS = [18 + i % 14 for i in range(42)]
EVALUATIONS = 100
FAILED = {19, 48, 77}  # ids of the evaluations that had no data or failed
PROBES = 20
UNVERIFIED = {"probe_13"}
START = datetime(2026, 11, 1, tzinfo=UTC)


def rows() -> dict[str, list[tuple]]:
    evaluations = [
        (
            i,
            (START + timedelta(minutes=15 * i)).strftime("%Y-%m-%d %H:%M:%S"),
            ("error" if i % 2 else "no_data") if i in FAILED else "ok",
        )
        for i in range(1, EVALUATIONS + 1)
    ]
    probes = [
        (f"probe_{n:02d}", True, f"probe_{n:02d}" not in UNVERIFIED) for n in range(1, PROBES + 1)
    ]
    housing = [(i + 1, wait) for i, wait in enumerate(HOUSING_WAITS)]
    return {"watchdog_evaluations": evaluations, "probes": probes, "housing_decisions": housing}


def write(cursor, placeholder: str = "?", schema: str = "") -> None:
    """Create the ledger's tables (dropping old ones) and fill them, through ``cursor``."""
    prefix = f"{schema}." if schema else ""
    for table, columns in TABLES.items():
        cursor.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
        cursor.execute(f"CREATE TABLE {prefix}{table} ({columns})")
    for table, values in rows().items():
        marks = ", ".join([placeholder] * len(values[0]))
        insert = f"INSERT INTO {prefix}{table} VALUES ({marks})"  # noqa: S608 - our constants
        cursor.executemany(insert, values)


def build(path: str | os.PathLike) -> Path:
    """(Re)build the ledger file at ``path``, atomically: a reader never sees half of it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch.unlink(missing_ok=True)
    conn = sqlite3.connect(scratch)
    try:
        with conn:
            write(conn.cursor())
    finally:
        conn.close()
    os.replace(scratch, target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m apm.demo_ledger PATH")
    print(build(sys.argv[1]).resolve())  # the path, for HMS_SQL_PROBE_DATABASE_URL
