"""Attacks on ``sql`` probes, written as an attacker would: PostgreSQL (or SQLite) must refuse.

Each attack goes through both paths a probe text takes: the save check (which must
execute nothing) and a run. The assertions are on the database's own answer (the
SQLSTATE it refused with) and on the state afterwards, seen from the app's
superuser connection: the ledger unchanged, no advisory lock, no large object,
the sequence not advanced, no table created, no probe session left, other
backends alive. Nothing here relies on a look-alike parser.
"""

import contextlib
import time

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apm import demo_ledger
from apm.probes import ProbeError
from apm.probes.sql import SqlProbe, engine
from tests.support.sql_probe import SCHEMA, SEQUENCE, role_name

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL attacks (SQLite ones run below)"
)
pytestmark = pytest.mark.django_db

ONE_STATEMENT = {"42601"}  # "cannot insert multiple commands into a prepared statement"
READ_ONLY = {"25006", "25001"}  # read-only transaction; "read-write must be set before"
PRIVILEGE = {"42501"}
MISSING = {"42883", "42P01", "0A000", "58P01"}  # no such function/table; not supported
NOT_A_SELECT = {""}  # COPY TO STDOUT and friends: refused before any row is read

# The look-alike checker and PostgreSQL read these differently; the server decides.
HIDDEN_SECOND_STATEMENTS = [
    "SELECT 1; DELETE FROM ledger",
    "SELECT 1;DELETE FROM ledger;",
    "SELECT 1 /* ; */ ; DELETE FROM ledger",
    "SELECT 1 -- ;\n; DELETE FROM ledger",
    "SELECT 1 /* /* nested */ still a comment ; */ ; DELETE FROM ledger",
    # standard_conforming_strings=on: the backslash is a character, the string ends there
    "SELECT 'a\\'; DELETE FROM ledger; --'",
    "SELECT E'\\\\'; DELETE FROM ledger; --'",
    "SELECT E'\\''; DELETE FROM ledger; --'",
    "SELECT $$;$$; DELETE FROM ledger",
    "SELECT $tag$ $$ ; $tag$; DELETE FROM ledger",
    "SELECT $a$x$a$ ; DELETE FROM ledger; SELECT $a$",
    "SELECT U&'\\0027'; DELETE FROM ledger",
    'SELECT U&"\\0061mount" FROM ledger; DELETE FROM ledger',
    "SELECT 1; SET standard_conforming_strings = off; SELECT 'a\\'; DELETE FROM ledger; --'",
    "COMMIT; DELETE FROM ledger",
    "END; DELETE FROM ledger",
    "ROLLBACK; BEGIN READ WRITE; DELETE FROM ledger; COMMIT",
    "SELECT 1; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM ledger",
    "ABORT; START TRANSACTION READ WRITE; UPDATE ledger SET amount = 0; COMMIT",
]

WRITES_AND_SIDE_EFFECTS = [
    ("DELETE FROM ledger", READ_ONLY),
    ("UPDATE ledger SET amount = 0", READ_ONLY),
    ("INSERT INTO ledger VALUES (3, 1)", READ_ONLY),
    # a MERGE that can only do nothing runs (PostgreSQL needs no write for it), not a SELECT
    (
        "MERGE INTO ledger l USING ledger r ON false WHEN NOT MATCHED THEN DO NOTHING",
        READ_ONLY | NOT_A_SELECT,
    ),
    ("MERGE INTO ledger l USING ledger r ON true WHEN MATCHED THEN DELETE", READ_ONLY),
    ("TRUNCATE ledger", READ_ONLY),
    ("DROP TABLE ledger", READ_ONLY),
    ("CREATE TABLE stolen AS SELECT * FROM ledger", READ_ONLY),
    ("SELECT * INTO stolen FROM ledger", READ_ONLY),
    ("SELECT 1 INTO TEMP stolen", READ_ONLY),
    ("WITH d AS (DELETE FROM ledger RETURNING 1) SELECT count(*) FROM d", READ_ONLY),
    ("WITH u AS (UPDATE ledger SET amount = 0 RETURNING 1) SELECT count(*) FROM u", READ_ONLY),
    ("WITH i AS (INSERT INTO ledger VALUES (9, 9) RETURNING id) SELECT id FROM i", READ_ONLY),
    ("SELECT amount FROM ledger FOR UPDATE", READ_ONLY),
    ("SELECT amount FROM ledger FOR NO KEY UPDATE", READ_ONLY),
    ("SELECT amount FROM ledger FOR SHARE", READ_ONLY),
    ("LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE", READ_ONLY | PRIVILEGE),
    (f"SELECT nextval('{SCHEMA}.{SEQUENCE}')", READ_ONLY),
    (f"SELECT setval('{SCHEMA}.{SEQUENCE}', 99)", READ_ONLY | PRIVILEGE),
    ("SELECT set_config('transaction_read_only', 'off', true)", READ_ONLY),
    ("SET TRANSACTION READ WRITE", READ_ONLY),
    ("SET transaction_read_only = off", READ_ONLY),
    ("SELECT set_config('role', 'postgres', false)", PRIVILEGE),
    ("SET ROLE postgres", PRIVILEGE),
    ("SET SESSION AUTHORIZATION postgres", PRIVILEGE),
    ("SELECT pg_read_file('/etc/passwd')", PRIVILEGE),
    ("SELECT pg_read_file('postgresql.conf', 0, 100)", PRIVILEGE),
    ("SELECT pg_read_binary_file('/etc/passwd')", PRIVILEGE),
    ("SELECT length(pg_read_file('/etc/hostname'))", PRIVILEGE),
    ("SELECT count(*) FROM pg_ls_dir('.')", PRIVILEGE),
    ("SELECT count(*) FROM pg_ls_waldir()", PRIVILEGE),
    ("SELECT (pg_stat_file('postgresql.conf')).size", PRIVILEGE),
    ("SELECT lo_import('/etc/passwd')", PRIVILEGE),
    ("SELECT lo_export(1, '/tmp/hms-probe-export')", PRIVILEGE),
    ("COPY ledger TO '/tmp/hms-probe-copy'", PRIVILEGE),
    ("COPY ledger FROM '/etc/passwd'", PRIVILEGE | READ_ONLY),
    ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/hms-probe-owned'", PRIVILEGE),
    ("COPY ledger TO STDOUT", NOT_A_SELECT),
    ("SELECT pg_reload_conf()", PRIVILEGE),
    ("SELECT pg_rotate_logfile()", PRIVILEGE),
    ("SELECT pg_switch_wal()", PRIVILEGE),
    ("SELECT current_setting('data_directory')", PRIVILEGE),
    ("ALTER SYSTEM SET work_mem = '1GB'", READ_ONLY | PRIVILEGE),
    ("CREATE EXTENSION dblink", READ_ONLY),
    ("SELECT dblink_connect('host=127.0.0.1 user=postgres')", MISSING),
    ("SELECT * FROM dblink('host=127.0.0.1 user=postgres', 'DELETE FROM x') AS t(x int)", MISSING),
    ("DO $$BEGIN DELETE FROM reporting.ledger; END$$", READ_ONLY),
    ("DO $$BEGIN PERFORM pg_read_file('/etc/passwd'); END$$", PRIVILEGE),
    ("DO $$BEGIN COMMIT; DELETE FROM reporting.ledger; END$$", {"2D000"} | READ_ONLY),
    ("CALL no_such_procedure()", MISSING),
    ("PREPARE p AS DELETE FROM ledger", READ_ONLY | NOT_A_SELECT),
    ("SELECT count(*) FROM public.auth_user", PRIVILEGE),
    ("SELECT count(*) FROM public.authtoken_token", PRIVILEGE),
]

# These run (a read-only transaction allows them) but must leave nothing behind.
RUN_AND_LEAVE_NOTHING = [
    "SELECT count(*) FROM (SELECT pg_advisory_lock(424242)) s",
    "SELECT count(*) FROM (SELECT pg_advisory_lock_shared(424243)) s",
    "SELECT count(*) FROM (SELECT pg_try_advisory_lock(424244)) s",
    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(424245)) s",
    "SELECT count(*) FROM (SELECT lo_from_bytea(0, 'x')) s",
    "SELECT count(*) FROM (SELECT set_config('default_transaction_read_only', 'off', false)) s",
    "SELECT count(*) FROM (SELECT set_config('statement_timeout', '0', false)) s",
    "SELECT count(*) FROM (SELECT set_config('search_path', 'public', false)) s",
    "SELECT txid_current()",
    "SELECT count(*) FROM (SELECT pg_notify('hms', 'x')) s",
    "SELECT count(*) FROM ledger",
]


def _scalar(sql_text, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql_text, params)
        return cursor.fetchone()[0]


def state() -> dict:
    """What an attack could change, read as the app's superuser."""
    return {
        "ledger": _scalar(
            f"SELECT array_agg(id || ':' || amount ORDER BY id) FROM {SCHEMA}.ledger"
        ),
        "advisory locks": _scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
        "large objects": _scalar("SELECT count(*) FROM pg_largeobject_metadata"),
        "sequence": _scalar(f"SELECT last_value FROM {SCHEMA}.{SEQUENCE}"),
        "tables": _scalar("SELECT count(*) FROM pg_class WHERE relname = 'stolen'"),
        "prepared": _scalar("SELECT count(*) FROM pg_prepared_xacts"),
    }


def probe_sessions() -> int:
    """Probe sessions still open (a closed session's backend exits a moment later)."""
    role = role_name(connection.settings_dict["NAME"])
    deadline = time.monotonic() + 3
    while True:
        # pg_stat_activity is a snapshot kept for the rest of the (test's) transaction
        _scalar("SELECT pg_stat_clear_snapshot()::text")
        count = _scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role])
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def attempt(query):
    """Save check, then a run: what the save check said and the run's ProbeError (or None)."""
    try:
        SqlProbe().check(query)
        saved = "accepted"
    except ValidationError as exc:
        saved = exc.messages[0]
    try:
        engine().fetch(query)
    except ProbeError as exc:
        return saved, exc
    return saved, None


@postgres_only
@pytest.mark.parametrize("query", HIDDEN_SECOND_STATEMENTS)
def test_postgres_refuses_a_second_statement_however_it_is_hidden(query):
    before = state()
    saved, refused = attempt(query)
    assert "(SQLSTATE 42601)" in saved  # mostly "cannot insert multiple commands into a ..."
    assert refused is not None and refused.code in ONE_STATEMENT
    assert probe_sessions() == 0
    assert state() == before


@postgres_only
@pytest.mark.parametrize(("query", "codes"), WRITES_AND_SIDE_EFFECTS)
def test_postgres_refuses_writes_locks_and_server_files(query, codes):
    before = state()
    _saved, refused = attempt(query)
    assert refused is not None, f"{query!r} ran"
    assert refused.code in codes, str(refused)
    assert probe_sessions() == 0
    assert state() == before


@postgres_only
@pytest.mark.parametrize("query", RUN_AND_LEAVE_NOTHING)
def test_what_a_read_only_probe_may_do_leaves_nothing_behind(query):
    before = state()
    result = engine().fetch(query)
    assert result.columns == 1 and result.row_count == 1
    assert probe_sessions() == 0
    assert state() == before  # the session is gone: no lock, no object, no setting
    # and the next run is a fresh session: still read-only, still timed
    with pytest.raises(ProbeError) as refused:
        engine().fetch("DELETE FROM ledger")
    assert refused.value.code == "25006"


@postgres_only
@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM (SELECT pg_sleep(30)) s",
        "SELECT count(*) FROM (SELECT set_config('statement_timeout', '0', false), pg_sleep(30)) s",
        "SELECT count(*) FROM generate_series(1, 10000000000)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r",
    ],
)
def test_a_probe_past_the_timeout_is_cancelled_by_postgres(query, settings):
    settings.APM_SQL_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    SqlProbe().check(query)  # parsing executes nothing: no wait
    assert time.monotonic() - started < 0.5
    with pytest.raises(ProbeError) as refused:
        engine().fetch(query)
    assert refused.value.code == "57014"
    assert time.monotonic() - started < 5
    assert probe_sessions() == 0


@postgres_only
def test_a_probe_waiting_for_a_lock_gives_up_at_the_lock_timeout(settings):
    settings.APM_SQL_TIMEOUT_SECONDS = 2
    with connection.cursor() as cursor:  # held by the test's transaction until it ends
        cursor.execute(f"LOCK TABLE {SCHEMA}.ledger IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    with pytest.raises(ProbeError) as refused:
        engine().fetch("SELECT count(*) FROM ledger")
    assert refused.value.code == "55P03"
    assert time.monotonic() - started < 2


@postgres_only
@pytest.mark.parametrize("signal", ["pg_terminate_backend", "pg_cancel_backend"])
def test_a_probe_cannot_signal_another_session(signal):
    app_pid = _scalar("SELECT pg_backend_pid()")
    saved, refused = attempt(f"SELECT count(*) FROM (SELECT {signal}({app_pid})) s")
    assert saved == "accepted"  # it parses; running it is what PostgreSQL refuses
    assert refused is not None and refused.code == "42501"
    assert _scalar("SELECT pg_backend_pid()") == app_pid  # the app's session is alive


def _superuser_session():
    """Another session of the app's superuser, outside the test's transaction."""
    app = connection.settings_dict
    return psycopg.connect(
        dbname=app["NAME"],
        user=app["USER"] or None,
        host=app["HOST"] or None,
        port=app["PORT"] or None,
        autocommit=True,
    )


@postgres_only
def test_a_probe_cannot_see_other_sessions_queries():
    with _superuser_session() as other:
        other.execute("SELECT 'hms-probe-' || 'visible-marker' AS marker")
        count_marked = (
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%visible-marker%%' "
            "AND pid <> pg_backend_pid()"
        )
        # the app's superuser does see it (so the probe's 0 below means something) ...
        assert _scalar(count_marked) >= 1
        # ... the probe role sees only "<insufficient privilege>" in other sessions' rows
        assert engine().fetch(count_marked.replace("%%", "%")).first_row == (0,)
        hidden = (
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND (state IS NOT NULL OR query NOT LIKE '<insufficient privilege>')"
        )
        assert engine().fetch(hidden).first_row == (0,)


@postgres_only
def test_a_superuser_probe_database_is_refused_at_save_and_at_run(settings):
    app = connection.settings_dict
    settings.HMS_SQL_PROBE_DATABASE = {
        "ENGINE": app["ENGINE"],
        "NAME": app["NAME"],
        "USER": app["USER"],
        "PASSWORD": app["PASSWORD"],
        "HOST": app["HOST"],
        "PORT": app["PORT"],
    }
    with pytest.raises(ValidationError, match="HMS_SQL_PROBE_DATABASE_URL connects as role"):
        SqlProbe().check("SELECT 1")
    with pytest.raises(ProbeError, match="which is a superuser"):
        engine().fetch("SELECT 1")


@postgres_only
@pytest.mark.parametrize("grant", ["pg_read_server_files", "pg_signal_backend", "pg_monitor"])
def test_a_probe_role_with_a_dangerous_predefined_role_is_refused(grant):
    role = role_name(connection.settings_dict["NAME"])
    # committed (the probe's own session must see it), and revoked again
    with _superuser_session() as admin:
        admin.execute(f'GRANT {grant} TO "{role}"')
        try:
            with pytest.raises(ProbeError, match=f"is a member of {grant}"):
                engine().fetch("SELECT 1")
            with pytest.raises(ValidationError, match=f"is a member of {grant}"):
                SqlProbe().check("SELECT 1")
        finally:
            admin.execute(f'REVOKE {grant} FROM "{role}"')
    assert engine().fetch("SELECT 1").first_row == (1,)


# --- SQLite: the reporting file, opened read-only ----------------------------------
SQLITE_ATTACKS = [
    "DELETE FROM probes",
    "UPDATE probes SET verified = 0",
    "INSERT INTO probes VALUES ('x', 1, 1)",
    "DROP TABLE probes",
    "CREATE TABLE stolen AS SELECT * FROM probes",
    "WITH d AS (SELECT 1) DELETE FROM probes",
    "SELECT 1; DELETE FROM probes",
    "SELECT 1 /* ; */ ; DELETE FROM probes",
    "SELECT 'a\\'; DELETE FROM probes; --'",
    "ATTACH DATABASE '/etc/passwd' AS secrets",
    "ATTACH DATABASE 'file:stolen.sqlite3?mode=rwc' AS stolen",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "VACUUM INTO '/tmp/hms-probe-copy.sqlite3'",
    "BEGIN IMMEDIATE",
    "SELECT load_extension('/tmp/evil')",
    "SELECT writefile('/tmp/hms-probe-owned', 'x')",
    "SELECT readfile('/etc/passwd')",
    "REINDEX",
    "ANALYZE",
]


@pytest.fixture
def ledger_file(tmp_path, settings):
    path = demo_ledger.build(tmp_path / "demo-ledger.sqlite3")
    settings.HMS_SQL_PROBE_DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    return path


@pytest.mark.parametrize("query", SQLITE_ATTACKS)
def test_sqlite_refuses_writes_attach_and_pragmas_on_the_reporting_file(query, ledger_file):
    before = ledger_file.read_bytes()
    with contextlib.suppress(ValidationError):  # compiling calls no function (EXPLAIN)
        SqlProbe().check(query)
    with pytest.raises(ProbeError) as refused:
        engine().fetch(query)
    assert "SQLite refused it" in str(refused.value)
    assert ledger_file.read_bytes() == before
    assert sorted(p.name for p in ledger_file.parent.iterdir()) == [ledger_file.name]


def test_sqlite_stops_a_probe_at_the_timeout(ledger_file, settings):
    settings.APM_SQL_TIMEOUT_SECONDS = 0.3
    started = time.monotonic()
    with pytest.raises(ProbeError) as refused:
        engine().fetch(
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r"
        )
    assert refused.value.code == "SQLITE_INTERRUPT"
    assert time.monotonic() - started < 3
