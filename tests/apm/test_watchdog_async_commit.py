"""HMS_WATCHDOG_ASYNC_COMMIT (apm/steady_runs.py): only a steady run commits without
waiting for the WAL flush; a run that opens, raises or resolves commits synchronously."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apm import escalations, services, steady_runs
from apm.models import Deviation, Escalation
from apm.probes import Reading
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)  # runs outside a caller's transaction

AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's (SQLite keeps the decision's own path)")


def _run(baseline, value: float, minutes: int = 0) -> Deviation:
    at = AT + timedelta(minutes=minutes)
    deviation = services.evaluate(baseline, Reading(value), "", at)
    escalations.on_deviation(deviation)
    return deviation


def _observed(run):
    """Every statement ``run`` sends, with ``synchronous_commit`` as the session sees it
    right after the statement (asked on the raw connection, so not counted itself)."""
    seen = []

    def observe(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        finally:  # a refused statement too (outside a transaction the session goes on)
            with connection.connection.cursor() as raw:
                raw.execute("SHOW synchronous_commit")
                seen.append((sql, connection.in_atomic_block, raw.fetchone()[0]))

    with connection.execute_wrapper(observe):
        run()
    return seen


def _transaction(seen):
    return [(sql, setting) for sql, in_atomic, setting in seen if in_atomic]


def test_steady_runs_are_one_statement_each_with_asynchronous_commit():
    red, green = f.baseline(target_value=30), f.baseline(target_value=40)
    _run(red, 37.2)  # opens the escalation (synchronously: the test below)

    for baseline, value in ((red, 37.2), (green, 37.2)):
        seen = _observed(lambda b=baseline, v=value: _run(b, v, minutes=5))
        assert [sql for sql, _, _ in seen] == [seen[0][0]]  # one statement
        assert steady_runs.ASYNC_COMMIT in seen[0][0]
        assert seen[0][2] == "on"  # the local setting ended with the statement's transaction
    escalation = Escalation.objects.get()
    assert escalation.breach_count == 2 and escalation.is_open
    assert escalation.deviation == Deviation.objects.filter(baseline=red).first()
    assert Deviation.objects.count() == 3


def test_a_run_that_opens_or_resolves_commits_synchronously():
    baseline = f.baseline(target_value=30)
    audited = AuditEntry.objects.count()

    opened = _observed(lambda: _run(baseline, 37.2))
    resolved = _observed(lambda: _run(baseline, 20.0, minutes=5))

    assert AuditEntry.objects.count() == audited + 2  # opened, resolved
    for seen in (opened, resolved):
        # The steady attempt wrote nothing; the decision is its own transaction, in which
        # every statement (the INSERT, the escalation, the audit entry) sees "on".
        written = _transaction(seen)
        assert written, seen
        assert all(setting == "on" for _, setting in written)
        assert not any("synchronous_commit" in sql for sql, _ in written)
    assert Escalation.objects.get().status == Escalation.Status.RESOLVED
    assert Deviation.objects.count() == 2


def test_the_setting_off_sends_no_synchronous_commit(settings):
    settings.HMS_WATCHDOG_ASYNC_COMMIT = False
    baseline = f.baseline(target_value=40)

    seen = _observed(lambda: _run(baseline, 37.2))

    assert len(seen) == 1  # still one statement, committed synchronously
    assert "synchronous_commit" not in seen[0][0]
    assert Deviation.objects.get().status == Deviation.Status.OK


def test_a_second_delivery_of_a_slot_is_refused_whole_and_counts_nothing():
    """Outside a transaction the one statement needs no savepoint: the slot's unique
    index refuses the INSERT, and the count drawn with it is undone with it."""
    red, green = f.baseline(target_value=30), f.baseline(target_value=40)
    slot = AT + timedelta(hours=1)
    _run(red, 37.2)  # opens the escalation

    def delivered(baseline, value):
        deviation = services.evaluate(baseline, Reading(value), "", slot, slot=slot)
        escalations.on_deviation(deviation)
        return deviation

    first_red, first_green = delivered(red, 37.2), delivered(green, 37.2)
    again = {}
    for baseline in (red, green):
        seen = _observed(lambda b=baseline: again.setdefault(b.pk, delivered(b, 37.2)))
        assert len(seen) == 1  # the one statement, refused: no fallback, no savepoint
    again_red, again_green = again[red.pk], again[green.pk]

    assert first_red.pk and first_green.pk
    assert again_red.pk is None and again_green.pk is None  # the first delivery decided
    escalation = Escalation.objects.get()
    assert escalation.breach_count == 2  # the opening run and the slot's first delivery
    assert escalation.deviation_id == first_red.pk
    assert Deviation.objects.filter(slot=slot).count() == 2


def test_steady_runs_are_prepared_once_per_connection():
    """The steady statement is parsed and planned once per connection (a prepared
    statement), not sent as text with its values quoted in, on every run."""
    red, green = f.baseline(target_value=30), f.baseline(target_value=40)

    def prepared() -> list[str]:
        connection.ensure_connection()
        with connection.connection.cursor() as raw:
            raw.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in raw.fetchall() if "apm_deviation" in row[0]]

    before = prepared()
    _run(red, 37.2)  # opens the escalation (its steady attempt first: nothing open)
    for minutes in (5, 10, 15):
        _run(red, 37.2, minutes=minutes)
        _run(green, 37.2, minutes=minutes)
    steady = [sql for sql in prepared() if sql not in before]
    assert len(steady) == 2, steady  # the red one and the green one, each prepared once
    assert all(steady_runs.ASYNC_COMMIT in sql for sql in steady)
    assert Escalation.objects.get().breach_count == 4
    assert Deviation.objects.count() == 7
