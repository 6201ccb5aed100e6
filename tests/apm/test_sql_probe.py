"""``sql`` probes: one SELECT, one number, read-only, with a statement timeout."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError

from apm import services
from apm.models import Baseline, Deviation, Program
from apm.probes.sql import read_only_cursor
from tests import factories as f

pytestmark = pytest.mark.django_db

SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) "
    "SELECT count(*) FROM c"
)


def test_sql_probe_measures_one_number_from_the_database():
    program = f.program()
    f.baseline(program, name="one")
    baseline = f.baseline(
        program, probe_query="SELECT COUNT(*) FROM apm_baseline", target_value=1, compare_op="ge"
    )
    deviation = services.run_baseline(baseline)
    assert deviation.actual == 2.0
    assert deviation.status == Deviation.Status.OK
    assert deviation.evidence["raw_result"] == [[2]]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("UPDATE apm_program SET name = 'x'", "only a SELECT is allowed"),
        ("DELETE FROM apm_program", "only a SELECT is allowed"),
        ("SELECT 1; SELECT 2", "exactly one SELECT statement (found 2)"),
        ("SELECT 1; DROP TABLE apm_program", "exactly one SELECT statement (found 2)"),
        ("SELECT nothing FROM no_such_table", "the database refused the query"),
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
    assert services.run_baseline(baseline).actual == 12.5


def test_the_probe_connection_cannot_write():
    program = f.program()
    with pytest.raises(DatabaseError), read_only_cursor() as cursor:
        cursor.execute("DELETE FROM apm_program")
    assert Program.objects.filter(pk=program.pk).exists()
    # and the caller's connection is writable again afterwards
    program.name = "renamed"
    program.save()


def test_a_slow_query_is_stopped_by_the_statement_timeout(settings):
    baseline = f.baseline(probe_query=SLOW_QUERY)
    settings.APM_SQL_TIMEOUT_SECONDS = 0.3
    deviation = services.run_baseline(baseline)
    assert deviation.status == Deviation.Status.ERROR
    assert deviation.deviation_pct == 100.0
    assert "the query failed" in deviation.evidence["error"]


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("SELECT 1 WHERE 1 = 0", Deviation.Status.NO_DATA, "no rows"),
        ("SELECT NULL", Deviation.Status.NO_DATA, "NULL"),
        ("SELECT 'many'", Deviation.Status.ERROR, "not a number"),
        ("SELECT 1, 2", Deviation.Status.ERROR, "one row with one column"),
    ],
)
def test_sql_without_one_number_counts_as_full_deviation(query, status, reason):
    baseline = f.baseline(probe_query=query)
    deviation = services.run_baseline(baseline)
    assert deviation.status == status
    assert deviation.deviation_pct == 100.0
    assert reason in deviation.evidence["error"]
