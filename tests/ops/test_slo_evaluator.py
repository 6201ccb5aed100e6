"""The SLO evaluator: p95 over the window against the threshold; healthy / breached / no_data."""

import statistics
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops import slo_handoff
from ops.metrics import aggregate, percentile, window_percentile
from ops.models import SLO, SLOStateChange
from ops.slo import evaluate_all, last_pass_at
from tests.factories import make_service, readings

pytestmark = pytest.mark.django_db


def slo_of(service_id="DCA_Luggage_Scanner") -> SLO:
    return SLO.objects.get(service_id=service_id)


def test_five_minutes_above_thirty_breach_then_back_under_is_healthy_then_nothing_is_no_data():
    make_service()
    t0 = timezone.now() - timedelta(minutes=10)
    readings("DCA_Luggage_Scanner", [25.0] * 50 + [38.0] * 10, end=t0, step=5)
    evaluate_all(t0)
    slo = slo_of()
    assert (slo.state, slo.since) == ("breached", t0)
    assert slo.value == pytest.approx(38.0)

    t1 = t0 + timedelta(minutes=5)
    readings("DCA_Luggage_Scanner", [12.0] * 60, end=t1, step=5)
    evaluate_all(t1)
    assert (slo_of().state, slo_of().since, slo_of().value) == ("healthy", t1, 12.0)

    t2 = t1 + timedelta(minutes=6)
    evaluate_all(t2)
    assert (slo_of().state, slo_of().value) == ("no_data", None)
    changes = list(SLOStateChange.objects.order_by("at").values_list("from_state", "to_state"))
    assert changes == [("no_data", "breached"), ("breached", "healthy"), ("healthy", "no_data")]


def test_threshold_is_inclusive_healthy_at_exactly_thirty():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [30.0] * 20, end=now)
    evaluate_all(now)
    assert slo_of().state == "healthy"


def test_window_excludes_readings_older_than_window_seconds():
    make_service(window_seconds=60)
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [90.0], end=now - timedelta(seconds=61))
    readings("DCA_Luggage_Scanner", [5.0], end=now - timedelta(seconds=59))
    evaluate_all(now)
    assert (slo_of().state, slo_of().value) == ("healthy", 5.0)


def test_percentile_from_the_yaml_is_used():
    make_service(percentile=50)
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 6 + [40.0] * 4, end=now)
    evaluate_all(now)
    assert (slo_of().state, slo_of().value) == ("healthy", 10.0)


def test_evaluating_twice_at_the_same_time_records_one_change():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [50.0] * 5, end=now)
    first = evaluate_all(now)
    second = evaluate_all(now)
    assert (len(first.changes), len(second.changes)) == (1, 0)
    assert SLOStateChange.objects.count() == 1


def test_an_older_pass_delivered_late_does_not_overwrite_a_newer_one():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [50.0] * 5, end=now)
    evaluate_all(now)
    late = evaluate_all(now - timedelta(minutes=30))  # would say no_data
    assert late.stale is True and late.changes == []
    assert (slo_of().state, slo_of().evaluated_at) == ("breached", now)


def test_the_pass_claims_its_fencing_token_in_one_statement_and_only_forward():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [10.0] * 5, end=now)
    with CaptureQueriesContext(connection) as ctx:
        evaluate_all(now)  # no marker row yet: the claim inserts it
    claims = [q["sql"] for q in ctx.captured_queries if "ops_workerheartbeat" in q["sql"]]
    assert len(claims) == 1
    assert last_pass_at() == now
    assert evaluate_all(now).stale is True  # the same instant again writes nothing
    assert evaluate_all(now - timedelta(seconds=1)).stale is True
    assert evaluate_all(now + timedelta(seconds=1)).stale is False
    assert last_pass_at() == now + timedelta(seconds=1)


def test_one_pass_uses_the_same_number_of_queries_for_3_or_12_slos():
    now = timezone.now()

    def queries_for(count: int, offset: int) -> int:
        for i in range(offset, offset + count):
            make_service(f"Scanner_{i}")
            readings(f"Scanner_{i}", [10.0 + i] * 3, end=now)
        # Each pass newer than the last (an older one is stale and would write nothing).
        evaluate_all(now + timedelta(seconds=offset))  # first pass records the transitions
        with CaptureQueriesContext(connection) as ctx:
            result = evaluate_all(now + timedelta(seconds=offset + 1))
        assert not result.stale and result.evaluated == offset + count
        return len(ctx)

    small = queries_for(3, 0)
    large = queries_for(9, 3)  # 12 SLOs in total now
    assert small == large
    assert small <= 7  # SQLite: SLOs, samples, claim (2), maintenance windows, savepoints


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage option")
def test_the_slo_table_keeps_room_for_the_ticks_hot_updates():
    """Every pass rewrites nearly every SLO's value: the free room makes those HOT
    updates (no new index entries), 0012_slo_fillfactor."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'ops_slo'")
        assert "fillfactor=40" in cursor.fetchone()[0]


@pytest.mark.parametrize("pct", [50, 90, 95, 99])
def test_percentile_is_linear_interpolation_as_percentile_cont(pct):
    values = sorted([3.5, 1.0, 7.25, 2.0, 9.0, 4.0, 11.5, 6.0, 0.5, 8.0, 5.5])
    expected = statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
    assert percentile(values, pct) == pytest.approx(expected)
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", values, end=now)
    # On PostgreSQL this is percentile_cont in SQL; on SQLite the Python function.
    db_value = window_percentile("DCA_Luggage_Scanner", "queue_time_seconds", pct, 300, now)
    assert db_value == pytest.approx(expected)


def test_aggregate_for_the_metric_probe():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [4.0, 1.0, 7.0, 2.0], end=now)
    args = ("DCA_Luggage_Scanner", "queue_time_seconds")
    assert aggregate(*args, "avg", 300, now) == 3.5
    assert aggregate(*args, "min", 300, now) == 1.0
    assert aggregate(*args, "max", 300, now) == 7.0
    assert aggregate(*args, "sum", 300, now) == 14.0
    assert aggregate(*args, "count", 300, now) == 4.0
    assert aggregate(*args, "last", 300, now) == 2.0
    assert aggregate(*args, "p50", 300, now) == 3.0
    assert aggregate(*args, "p95", 300, now) == pytest.approx(6.55)
    assert aggregate(*args, "avg", 300, now + timedelta(minutes=10)) is None
    assert aggregate(*args, "count", 300, now + timedelta(minutes=10)) is None
    with pytest.raises(ValueError, match="func must be one of"):
        aggregate(*args, "median", 300, now)


def test_each_state_change_is_audited_once():
    from ops.models import AuditEntry

    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [50.0] * 5, end=now)
    evaluate_all(now)
    evaluate_all(now)
    assert not AuditEntry.objects.filter(topic="ops.slo").exists()  # handed off after commit
    slo_handoff.run_pending()
    slo_handoff.run_pending()  # a second delivery of the hand-off
    entries = list(AuditEntry.objects.filter(topic="ops.slo"))
    assert len(entries) == 1
    assert entries[0].actor == "slo-evaluator"
    assert entries[0].payload["service"] == "DCA_Luggage_Scanner"
    assert (entries[0].payload["from"], entries[0].payload["to"]) == ("no_data", "breached")
