"""``sql`` probes: one SELECT, one number, on the probes' own read-only database and role.

The probe database is the session's reporting role or file (tests/support/sql_probe.py):
it holds the ``ledger`` table (2 rows) and the demo's ledger, nothing of the app.
"""

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apm import services
from apm.models import Baseline, Deviation
from apm.probes import ProbeError
from apm.probes.sql import SqlProbe, engine
from tests import factories as f
from tests.support.sql_probe import LEDGER

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) "
    "SELECT count(*) FROM c"
)
APP_SCHEMA = "public." if POSTGRES else ""  # the probe role's search_path is reporting
ONE_STATEMENT = (
    "cannot insert multiple commands into a prepared statement"
    if POSTGRES
    else "You can only execute one statement at a time"
)


def ledger_count() -> int:
    return int(engine().fetch("SELECT count(*) FROM ledger").first_row[0])


def test_sql_probe_measures_one_number_from_the_probe_database():
    baseline = f.baseline(
        probe_query="SELECT COUNT(*) FROM ledger", target_value=1, compare_op="ge"
    )
    deviation = services.run_baseline(baseline)
    assert deviation.actual == 2.0
    assert deviation.status == Deviation.Status.OK
    # the number and the row count (one row of one number), nothing else
    assert deviation.evidence["raw_result"] == [[2]]
    assert deviation.evidence["query"] == "SELECT COUNT(*) FROM ledger"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("UPDATE apm_program SET name = 'x'", "only a SELECT is allowed"),
        ("DELETE FROM apm_program", "only a SELECT is allowed"),
        # the engine's own refusal (the old look-alike counted statements itself)
        ("SELECT 1; SELECT 2", ONE_STATEMENT),
        ("SELECT 1; DROP TABLE apm_program", ONE_STATEMENT),
        ("SELECT nothing FROM no_such_table", "the database refused the query"),
        ("SELECT 1, 2", "the query returns 2 columns; a baseline needs one row with one column"),
    ],
)
def test_anything_but_one_valid_select_is_refused_at_save(query, message):
    candidate = Baseline(program=f.program(), name="x", target_value=1, probe_kind="sql")
    candidate.probe_query = query
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert message in refused.value.message_dict["probe_query"][0]
    assert not Baseline.objects.exists()


def test_a_select_with_a_trailing_semicolon_is_accepted_and_verified():
    baseline = f.baseline(probe_query="SELECT 12.5;")
    assert baseline.probe_verified is True
    assert "nothing was executed" in baseline.probe_note
    assert services.run_baseline(baseline).actual == 12.5


def test_the_probe_connection_cannot_write():
    with pytest.raises(ProbeError) as refused:
        engine().fetch("DELETE FROM ledger")
    # PostgreSQL: read-only transaction; SQLite: the authorizer denies it while compiling
    assert refused.value.code == ("25006" if POSTGRES else "SQLITE_AUTH")
    assert ledger_count() == len(LEDGER)
    # and the app's own connection is untouched and writable
    program = f.program()
    program.name = "renamed"
    program.save()


def test_a_probe_cannot_read_the_apps_own_tables():
    with pytest.raises(ProbeError) as refused:
        engine().fetch(f"SELECT count(*) FROM {APP_SCHEMA}auth_user")
    # PostgreSQL: no privilege on the app's tables; SQLite: the reporting file has none
    assert refused.value.code == ("42501" if POSTGRES else "SQLITE_ERROR")


def test_a_slow_query_is_stopped_by_the_statement_timeout(settings):
    baseline = f.baseline(probe_query=SLOW_QUERY)
    settings.APM_SQL_TIMEOUT_SECONDS = 0.3
    started = time.monotonic()
    deviation = services.run_baseline(baseline)
    assert time.monotonic() - started < 5
    assert deviation.status == Deviation.Status.ERROR
    assert deviation.deviation_pct == 100.0
    assert "the query failed" in deviation.evidence["error"]
    assert "APM_SQL_TIMEOUT_SECONDS" in deviation.evidence["error"]


def test_saving_executes_nothing(settings):
    """The save check parses (PostgreSQL: Parse + Describe; SQLite: EXPLAIN): a query that
    would run for minutes is checked at once, and one that fails when run still saves."""
    settings.APM_SQL_TIMEOUT_SECONDS = 2
    started = time.monotonic()
    slow = f.baseline(probe_query=SLOW_QUERY)
    assert time.monotonic() - started < 1.5
    assert slow.probe_verified is True
    failing = f.baseline(probe_query="SELECT 1 / (SELECT count(*) - 2 FROM ledger)")
    assert failing.probe_verified is True
    deviation = services.run_baseline(failing)
    if POSTGRES:
        assert deviation.status == Deviation.Status.ERROR
        assert "SQLSTATE 22012" in deviation.evidence["error"]
    else:  # SQLite answers NULL to a division by zero
        assert deviation.status == Deviation.Status.NO_DATA


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("SELECT 1 WHERE 1 = 0", Deviation.Status.NO_DATA, "no rows"),
        ("SELECT NULL", Deviation.Status.NO_DATA, "NULL"),
        ("SELECT 'many'", Deviation.Status.ERROR, "value (1 row, 1 column), not a number"),
        ("SELECT 1, 2", Deviation.Status.ERROR, "1 row of 2 columns"),
        ("SELECT amount FROM ledger", Deviation.Status.ERROR, "2 rows of 1 column"),
        (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) "
            "SELECT x FROM c",
            Deviation.Status.ERROR,
            "more than 10 rows of 1 column",
        ),
    ],
)
def test_sql_without_one_number_counts_as_full_deviation(query, status, reason):
    # clean=False: the save check refuses some of these; a run must still guard itself
    # (the data or the schema can change after the save).
    baseline = f.baseline(probe_query=query, clean=False)
    deviation = services.run_baseline(baseline)
    assert deviation.status == status
    assert deviation.deviation_pct == 100.0
    assert reason in deviation.evidence["error"]
    assert "many" not in deviation.evidence["error"]  # the shape or type, never the value


def test_a_text_column_saves_unverified_saying_why():
    baseline = f.baseline(probe_query="SELECT owner FROM api_keys")
    if POSTGRES:  # PostgreSQL describes the column's type at save; SQLite cannot
        assert baseline.probe_verified is False
        assert "column is varchar, not a number" in baseline.probe_note
    deviation = services.run_baseline(baseline)
    assert deviation.status == Deviation.Status.ERROR
    assert "ops-bot" not in str(deviation.evidence)


def test_without_a_probe_database_sql_probes_are_refused_at_save(settings, api, staff_alice):
    settings.HMS_SQL_PROBE_DATABASE = None
    candidate = Baseline(program=f.program(), name="x", target_value=1, probe_kind="sql")
    candidate.probe_query = "SELECT 1"
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert "set HMS_SQL_PROBE_DATABASE_URL" in refused.value.message_dict["probe_query"][0]
    response = api(staff_alice).post(
        "/api/v1/baselines/",
        {
            "program": f.program().pk,
            "name": "x",
            "target_value": 1,
            "probe_kind": "sql",
            "probe_query": "SELECT 1",
        },
    )
    assert response.status_code == 400
    assert "HMS_SQL_PROBE_DATABASE_URL" in response.json()["probe_query"][0]
    assert not Baseline.objects.exists()


def test_without_a_probe_database_a_saved_sql_probe_is_an_error_saying_what_to_set(settings):
    baseline = f.baseline(probe_query="SELECT 1")
    settings.HMS_SQL_PROBE_DATABASE = None
    deviation = services.run_baseline(baseline)
    assert deviation.status == Deviation.Status.ERROR
    assert "set HMS_SQL_PROBE_DATABASE_URL" in deviation.evidence["error"]


def test_the_save_check_uses_the_probe_database_not_the_apps():
    # apm_baseline exists in the app's database, not in the reporting one
    probe = SqlProbe()
    if POSTGRES:  # it exists, but the role may not read it: refused when run
        probe.check("SELECT count(*) FROM public.apm_baseline")
        with pytest.raises(ProbeError, match="SQLSTATE 42501"):
            probe.measure("SELECT count(*) FROM public.apm_baseline", at=None)
    else:
        with pytest.raises(ValidationError, match="no such table: apm_baseline"):
            probe.check("SELECT count(*) FROM apm_baseline")
