"""Concurrent writers on the same baseline still leave one open escalation, counted right."""

import threading

import pytest
from django.db import connection, connections, transaction

from apm import escalations, services
from apm.models import Escalation
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _concurrent_writers():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: PostgreSQL (SQLite serializes whole transactions)")


def _concurrently(*writers) -> None:
    """Run each writer in its own thread (and database connection); re-raise what failed."""
    errors = []

    def run(writer):
        try:
            writer()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []


def _hold_row_locks():
    threading.Event().wait(0.5)  # the other writer runs, and blocks, meanwhile


def test_a_writer_that_loses_the_insert_race_updates_the_winners_escalation(staff_alice):
    baseline = f.baseline()
    inserted, results = threading.Event(), {}

    def first():
        with transaction.atomic():
            results["first"] = escalations.send(baseline, "first", "warning", actor=staff_alice)
            inserted.set()
            _hold_row_locks()  # the uncommitted row: the second writer's insert waits on it

    def second():
        inserted.wait(5)
        results["second"] = escalations.send(baseline, "second", "critical", actor=staff_alice)

    _concurrently(first, second)
    assert results["first"][1] is True and results["second"][1] is False
    escalation = Escalation.objects.get()
    assert (escalation.level, escalation.message) == ("critical", "second")
    changes = list(
        AuditEntry.objects.filter(topic="apm.escalation").values_list("payload__change", flat=True)
    )
    assert changes == ["opened", "raised"]


def test_a_red_run_counted_while_a_person_resolves_opens_a_new_streak(staff_alice):
    """The watchdog's one-statement count waits for the resolver's row lock, then finds
    nothing open (PostgreSQL re-checks the WHERE) and opens a new escalation."""
    baseline = f.baseline()  # SELECT 37.2 against "≤ 30": red
    services.run_baseline(baseline)
    first = Escalation.objects.get()
    resolved, results = threading.Event(), {}

    def person():
        with transaction.atomic():
            escalations.resolve(first, actor=staff_alice, note="fixed the queue")
            resolved.set()
            _hold_row_locks()

    def watchdog():
        resolved.wait(5)
        results["deviation"] = services.run_baseline(baseline)

    _concurrently(person, watchdog)
    first.refresh_from_db()
    assert first.status == Escalation.Status.RESOLVED and first.breach_count == 1
    second = Escalation.objects.exclude(pk=first.pk).get()
    assert second.is_open and second.breach_count == 1
    assert second.deviation == results["deviation"]
    assert second.red_since == results["deviation"].evaluated_at
