"""Day partitions of ``ops_sample`` on PostgreSQL (``PARTITION BY RANGE (ts)``).

One partition per UTC day, ``ops_sample_pYYYYMMDD`` covering ``[day, day + 1)``, plus
``ops_sample_default``, which takes any sample whose day has no partition yet (a
sample is never refused or lost for want of a partition). ``ensure`` creates the days
``[today - retention, today + HMS_METRIC_PARTITIONS_AHEAD]`` that are missing; a day
whose samples already sit in the default partition gets them moved into its new
partition in the same transaction. ``drop_expired`` drops whole days whose last
instant is older than the retention cutoff, and deletes the (normally none) expired
rows left in the default partition — no row DELETE on a day partition, no vacuum.

Both run from the hourly beat entry (``ops.tasks.purge_expired_samples`` →
``get_store().maintain``) and at migrate time; each is idempotent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction

TABLE = "ops_sample"
DEFAULT = f"{TABLE}_default"
PREFIX = f"{TABLE}_p"


def name_of(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    if not name.startswith(PREFIX):
        return None
    try:
        return datetime.strptime(name[len(PREFIX) :], "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


def bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def partitions(cursor) -> list[str]:
    """Names of every partition of ``ops_sample`` (pg_inherits), sorted."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        (TABLE,),
    )
    return [row[0] for row in cursor.fetchall()]


def wanted_days(now: datetime, retention_days: int | None = None, ahead: int | None = None):
    retention_days = retention_days or settings.HMS_METRIC_RETENTION_DAYS
    ahead = settings.HMS_METRIC_PARTITIONS_AHEAD if ahead is None else ahead
    today = now.astimezone(UTC).date()
    return [today + timedelta(days=n) for n in range(-retention_days, ahead + 1)]


def create(cursor, day: date) -> bool:
    """Create one day's partition (False: it exists); rows of that day already in the
    default partition move into it."""
    name = connection.ops.quote_name(name_of(day))
    start, end = bounds(day)
    # Serializes with writes into the default partition and with a concurrent maintain.
    cursor.execute(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (name_of(day),))
    if cursor.fetchone()[0]:
        return False  # another maintain made it meanwhile
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE ts >= %s AND ts < %s)",  # noqa: S608
        (start, end),
    )
    if not cursor.fetchone()[0]:
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
            (start, end),
        )
        return True
    # Stray samples of this day: move them, then attach (the attach checks the range).
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= %s AND ts < %s "  # noqa: S608
        f"RETURNING series_id, ts, value) INSERT INTO {name} SELECT * FROM moved",
        (start, end),
    )
    cursor.execute(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        (start, end),
    )
    return True


def ensure(now: datetime, retention_days: int | None = None, ahead: int | None = None) -> list:
    """Create the missing day partitions around ``now``; returns the names created."""
    created = []
    with connection.cursor() as cursor:
        existing = set(partitions(cursor))
        for day in wanted_days(now, retention_days, ahead):
            if name_of(day) in existing:
                continue
            with transaction.atomic():
                if create(cursor, day):
                    created.append(name_of(day))
    return created


def drop_expired(cutoff: datetime) -> tuple[list[str], int]:
    """Drop the day partitions entirely older than ``cutoff``; delete the default's
    expired rows. Returns (partitions dropped, rows deleted from the default)."""
    dropped = []
    with connection.cursor() as cursor:
        for name in partitions(cursor):
            day = day_of(name)
            if day is None or bounds(day)[1] > cutoff:
                continue
            with transaction.atomic():
                # Rows written earlier in this transaction leave deferred FK checks pending,
                # which DROP refuses: run them now, then defer again (Django's default).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"DROP TABLE {connection.ops.quote_name(name)}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            dropped.append(name)
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE ts < %s", (cutoff,))  # noqa: S608
        deleted = cursor.rowcount
    return dropped, deleted


def create_table_sql() -> list[str]:
    """The partitioned table (and its default partition), for the migration."""
    return [
        f"""CREATE TABLE {TABLE} (
            series_id bigint NOT NULL
                REFERENCES ops_series (id) DEFERRABLE INITIALLY DEFERRED,
            ts timestamptz NOT NULL,
            value double precision NOT NULL,
            CONSTRAINT {TABLE}_pkey PRIMARY KEY (series_id, ts) INCLUDE (value)
        ) PARTITION BY RANGE (ts)""",
        f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT",
    ]
