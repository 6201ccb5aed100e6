"""HMS_SLO_ASYNC_COMMIT: only a pass that moves no state commits without the WAL flush.

Each test runs in one transaction (the pass's is a savepoint inside it), so the setting
a pass leaves in force is the one its own commit would see.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops.models import SLO
from ops.slo import evaluate_all, evaluate_services
from tests.factories import make_service, readings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit option"),
]


def _commit_waits() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0] != "off"


def _reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = on")


def test_a_pass_that_only_rewrites_values_commits_without_waiting_for_the_flush():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))  # no_data -> healthy: a state change
    assert _commit_waits()
    readings("DCA_Luggage_Scanner", [12.0] * 10, end=now)
    evaluate_all(now)
    assert not _commit_waits()
    assert SLO.objects.get().value == pytest.approx(12.0)


def test_a_pass_that_moves_a_state_waits_for_the_flush():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now)
    evaluate_all(now)  # no_data -> healthy
    assert SLO.objects.get().state == "healthy"
    assert _commit_waits()


def test_a_pass_that_moves_one_state_among_steady_values_waits_for_the_flush():
    make_service("A_Svc")
    make_service("B_Svc")
    now = timezone.now()
    for service in ("A_Svc", "B_Svc"):
        readings(service, [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))
    _reset()
    readings("A_Svc", [12.0] * 10, end=now)  # a new value, still healthy
    readings("B_Svc", [900.0] * 10, end=now)  # breached
    evaluate_all(now)
    assert dict(SLO.objects.values_list("service_id", "state")) == {
        "A_Svc": "healthy",
        "B_Svc": "breached",
    }
    assert _commit_waits()


def test_steady_values_beside_a_slo_without_data_still_commit_asynchronously():
    """The one-statement pass hands the SLO without data back to Python (it is not
    steady there) but moves nothing: the commit need not wait, as on every path."""
    make_service("A_Svc")
    make_service("Quiet_Svc")
    now = timezone.now()
    readings("A_Svc", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))
    _reset()
    readings("A_Svc", [12.0] * 10, end=now)
    evaluate_all(now)
    assert dict(SLO.objects.values_list("service_id", "state")) == {
        "A_Svc": "healthy",
        "Quiet_Svc": "no_data",
    }
    assert SLO.objects.get(service_id="A_Svc").value == pytest.approx(12.0)
    assert not _commit_waits()


def test_a_pass_that_writes_nothing_leaves_the_commit_alone():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))
    with CaptureQueriesContext(connection) as ctx:
        evaluate_all(now - timedelta(seconds=20))  # the same window: no value changes
    assert _commit_waits()
    assert not any("synchronous_commit = off" in q["sql"] for q in ctx.captured_queries)


def test_the_triggered_pass_follows_the_same_rule():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_services(["DCA_Luggage_Scanner"], now - timedelta(seconds=30))
    assert _commit_waits()
    readings("DCA_Luggage_Scanner", [12.0] * 10, end=now)
    evaluate_services(["DCA_Luggage_Scanner"], now)
    assert not _commit_waits()


def test_the_setting_off_makes_every_pass_wait(settings):
    settings.HMS_SLO_ASYNC_COMMIT = False
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))
    readings("DCA_Luggage_Scanner", [12.0] * 10, end=now)
    evaluate_all(now)
    assert _commit_waits()
    assert SLO.objects.get().value == pytest.approx(12.0)
