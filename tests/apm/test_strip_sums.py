"""The strip's sums as PostgreSQL's written-once statement (``apm.strip_sums``) are the ORM's
(``orm_quarter_sums``): the same rows a promise, the same sums to rounding (each statement
adds its rows in the order its plan reads them: a hash join that hashes the deviations
hands them over in another order than a scan), and the work beside it runs once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apm.models import Deviation, Program
from apm.review.quarters import Quarter
from apm.summary import orm_quarter_sums, quarter_sums, quarter_sums_beside, summary_beside
from tests import factories as f

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the statement is PostgreSQL's (SQLite: the ORM)"
)
Q4 = Quarter(2026, 4)
AT = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)  # inside the quarter


def run(baseline, when, actual, status="ok", **fields):
    Deviation.objects.create(
        baseline=baseline, evaluated_at=when, actual=actual, deviation_pct=1.0, status=status,
        evidence={}, trigger=fields.pop("trigger", "schedule"), **fields,
    )  # fmt: skip


def scenario():
    """Programs whose runs the statement must count, and every kind it must leave out."""
    kept, other, none = f.program(), f.program(), f.program()
    steady = f.baseline(kept, name="steady", clean=False, target_value=14.25)
    for day in range(40):  # microseconds, uneven values: sums that round
        run(steady, Q4.start + timedelta(days=day, seconds=day * 37.123457), 10 + day % 7 / 3)
    mixed = f.baseline(kept, name="mixed", clean=False)
    run(mixed, Q4.start, 3.0)  # the first instant counts
    run(mixed, Q4.start - timedelta(microseconds=1), 99.0)  # last quarter
    run(mixed, AT, 98.0)  # ``until`` is excluded
    run(mixed, AT + timedelta(days=1), 97.0)
    run(mixed, Q4.start + timedelta(days=3), 96.0, in_maintenance=True)
    run(mixed, Q4.start + timedelta(days=4), 95.0, status="insufficient_data")
    run(mixed, Q4.start + timedelta(days=5), None, status="no_data")
    run(mixed, Q4.start + timedelta(days=6), 4.5, status="breach")
    run(mixed, Q4.start + timedelta(days=7), 6.0, trigger="backfill")  # counted, as the ORM's
    quiet = f.baseline(kept, name="quiet", clean=False)  # nothing this quarter: no row
    run(quiet, Q4.start - timedelta(days=2), 5.0)
    off = f.baseline(other, name="inactive", clean=False, active=False)
    run(off, Q4.start + timedelta(days=1), 5.0)
    alone = f.baseline(other, name="one_run", clean=False, compare_op="ge", threshold_pct=5)
    run(alone, Q4.start + timedelta(hours=1), 8.0)
    return [kept.pk, other.pk, none.pk]


def ordered(rows):
    return sorted(rows, key=lambda row: row[0].pk)


def same(found, expected):
    """The same promises with the same count, the figures to 1e-12 relative."""
    found, expected = ordered(found), ordered(expected)
    assert [(p, line.n) for p, line in found] == [(p, line.n) for p, line in expected]
    for (_, line), (_, reference) in zip(found, expected, strict=True):
        figures = (line.mean_x, line.mean_y, line.sxx, line.sxy)
        references = (reference.mean_x, reference.mean_y, reference.sxx, reference.sxy)
        assert figures == pytest.approx(references, rel=1e-12, abs=1e-12)


@pytest.mark.django_db
def test_the_statement_gives_the_orms_sums():
    ids = scenario()
    found = quarter_sums(ids, Q4, AT)
    same(found, orm_quarter_sums(ids, Q4, AT))
    assert [line.n for _, line in ordered(found)] == [40, 3, 1]
    assert quarter_sums(ids[2:], Q4, AT) == [] and quarter_sums([], Q4, AT) == []


@pytest.mark.django_db(transaction=True)
def test_beside_the_statement_outside_a_transaction_the_same_sums_and_the_work_once():
    ids = scenario()
    calls = []
    rows, done = quarter_sums_beside(ids, Q4, AT, lambda: calls.append(1) or "built")
    same(rows, orm_quarter_sums(ids, Q4, AT))
    assert (done, calls) == ("built", [1])
    strip, done = summary_beside(list(Program.objects.filter(pk__in=ids)), [], AT, list)
    assert done == [] and strip["program_total"] == 3
