"""Two writers escalating the same baseline at once still leave one open escalation."""

import threading

import pytest
from django.db import connection, connections, transaction

from apm import escalations, services
from apm.models import Escalation
from ops.models import AuditEntry
from tests.apm import factories as f


@pytest.mark.django_db(transaction=True)
def test_a_writer_that_loses_the_insert_race_updates_the_winners_escalation(staff_alice):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: PostgreSQL (SQLite serializes whole transactions)")
    baseline = f.baseline()
    inserted, results, errors = threading.Event(), {}, []

    def first():
        try:
            with transaction.atomic():
                results["first"] = escalations.send(baseline, "first", "warning", actor=staff_alice)
                inserted.set()
                # hold the uncommitted row while the second writer inserts and blocks on it
                threading.Event().wait(0.5)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    def second():
        try:
            inserted.wait(5)
            results["second"] = escalations.send(baseline, "second", "critical", actor=staff_alice)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results["first"][1] is True and results["second"][1] is False
    escalation = Escalation.objects.get()
    assert (escalation.level, escalation.message) == ("critical", "second")
    changes = list(
        AuditEntry.objects.filter(topic="apm.escalation").values_list("payload__change", flat=True)
    )
    assert changes == ["opened", "raised"]


@pytest.mark.django_db(transaction=True)
def test_a_red_run_counted_while_a_person_resolves_opens_a_new_streak(staff_alice):
    """The watchdog's one-statement count waits for the resolver's row lock, then finds
    nothing open (PostgreSQL re-checks the WHERE) and opens a new escalation."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: PostgreSQL (SQLite serializes whole transactions)")
    baseline = f.baseline()  # SELECT 37.2 against "≤ 30": red
    services.run_baseline(baseline)
    first = Escalation.objects.get()
    resolved, errors, results = threading.Event(), [], {}

    def person():
        try:
            with transaction.atomic():
                escalations.resolve(first, actor=staff_alice, note="fixed the queue")
                resolved.set()
                threading.Event().wait(0.5)  # hold the row lock while the watchdog runs
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def watchdog():
        try:
            resolved.wait(5)
            results["deviation"] = services.run_baseline(baseline)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=person), threading.Thread(target=watchdog)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    first.refresh_from_db()
    assert first.status == Escalation.Status.RESOLVED and first.breach_count == 1
    second = Escalation.objects.exclude(pk=first.pk).get()
    assert second.is_open and second.breach_count == 1
    assert second.deviation == results["deviation"]
    assert second.red_since == results["deviation"].evaluated_at
