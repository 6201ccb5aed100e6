"""Two writers escalating the same baseline at once still leave one open escalation."""

import threading

import pytest
from django.db import connection, connections, transaction

from apm import escalations
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
