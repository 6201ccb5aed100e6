"""HMS_SLO_ASYNC_COMMIT: only a pass that moves no state commits without the WAL flush."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops.models import SLO
from ops.slo import evaluate_all
from tests.factories import make_service, readings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit option"),
]
ASYNC = "SET LOCAL synchronous_commit = off"


def _pass(at):
    with CaptureQueriesContext(connection) as ctx:
        evaluate_all(at)
    return [q["sql"] for q in ctx.captured_queries]


def test_a_pass_that_only_rewrites_values_commits_without_waiting_for_the_flush():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))  # no_data -> healthy: a state change
    readings("DCA_Luggage_Scanner", [12.0] * 10, end=now)
    statements = _pass(now)
    (update,) = [s for s in statements if "UPDATE" in s and "ops_slo" in s and "unnest" in s]
    assert update.startswith(ASYNC)
    assert SLO.objects.get().value == pytest.approx(12.0)


def test_a_pass_that_moves_a_state_waits_for_the_flush():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now)
    statements = _pass(now)  # no_data -> healthy
    assert SLO.objects.get().state == "healthy"
    assert not any(ASYNC in s for s in statements)


def test_the_setting_off_makes_every_pass_wait(settings):
    settings.HMS_SLO_ASYNC_COMMIT = False
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 10, end=now - timedelta(seconds=30))
    evaluate_all(now - timedelta(seconds=30))
    readings("DCA_Luggage_Scanner", [12.0] * 10, end=now)
    assert not any(ASYNC in s for s in _pass(now))
    assert SLO.objects.get().value == pytest.approx(12.0)
