"""PromQL baselines against the real private Prometheus (history in tests/support/history.py)."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apm import escalations, services
from apm.models import Baseline, Deviation, Escalation
from ops.models import AuditEntry
from tests import factories as f
from tests.support.history import EVAL_TIME, default_history
from tests.support.prometheus import PrometheusServer
from tests.support.services import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.services]

AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)


@pytest.fixture
def live_prometheus(prometheus, settings):
    settings.PROMETHEUS_URL = prometheus.url
    return prometheus


def promql_baseline(**fields):
    fields.setdefault("probe_kind", Baseline.ProbeKind.PROMQL)
    fields.setdefault("probe_query", f.VALID_HOUSING_QUERY)
    return f.baseline(**fields)


def test_seed_housing_baseline_records_37_2_days_as_a_24_percent_breach(live_prometheus):
    baseline = promql_baseline(name="avg_wait_days", target_value=30, compare_op="le")
    assert baseline.probe_verified is True

    deviation = services.run_baseline(baseline, at=AT)

    assert deviation.actual == pytest.approx(37.2)
    assert deviation.deviation_pct == pytest.approx(24.0)
    assert deviation.status == Deviation.Status.BREACH
    assert deviation.evaluated_at == AT
    evidence = deviation.evidence
    assert evidence["query"] == f.VALID_HOUSING_QUERY
    assert evidence["target"] == 30
    assert evidence["operator"] == "le"
    assert evidence["formula"] == "(actual - target) / target * 100"
    assert evidence["raw_result"]["resultType"] == "vector"
    assert float(evidence["raw_result"]["result"][0]["value"][1]) == pytest.approx(37.2)


def test_ge_baseline_counts_falling_short_of_the_target_as_positive(live_prometheus):
    # approval rate is 0.8; the promise is "at least 0.9"
    baseline = promql_baseline(
        target_value=0.9, compare_op="ge", probe_query=f.VOUCHER_APPROVAL_QUERY, threshold_pct=10
    )
    deviation = services.run_baseline(baseline, at=AT)
    assert deviation.actual == pytest.approx(0.8)
    assert deviation.deviation_pct == pytest.approx(100 / 9, rel=1e-4)
    assert deviation.status == Deviation.Status.BREACH
    assert deviation.evidence["formula"] == "(target - actual) / target * 100"


def test_ge_baseline_beating_its_target_is_negative_and_ok(live_prometheus):
    baseline = promql_baseline(
        target_value=0.5, compare_op="ge", probe_query=f.VOUCHER_APPROVAL_QUERY
    )
    deviation = services.run_baseline(baseline, at=AT)
    assert deviation.deviation_pct == pytest.approx(-60.0)
    assert deviation.status == Deviation.Status.OK


def test_mini_exercise_error_rate_within_threshold_is_ok(live_prometheus):
    # 3 % errors against "≤ 1 %" with a 10 % threshold is a 200 % breach
    baseline = promql_baseline(
        target_value=1, threshold_pct=10, probe_query=f.ERROR_RATE_QUERY, name="error_rate"
    )
    deviation = services.run_baseline(baseline, at=AT)
    assert deviation.actual == pytest.approx(3.0)
    assert deviation.deviation_pct == pytest.approx(200.0)
    assert deviation.status == Deviation.Status.BREACH


def test_probe_with_no_data_counts_as_full_deviation(live_prometheus):
    baseline = promql_baseline(probe_query="rate(metric_that_was_never_recorded[7d])")
    deviation = services.run_baseline(baseline, at=AT)
    assert deviation.status == Deviation.Status.NO_DATA
    assert deviation.actual is None
    assert deviation.deviation_pct == 100.0
    assert "empty result" in deviation.evidence["error"]
    assert deviation.evidence["raw_result"]["result"] == []


def test_a_repeated_run_costs_one_to_four_statements_and_writes_no_audit_entry(
    live_prometheus, django_assert_num_queries
):
    """The nightly steady state beside the probe, the maintenance question asked inside
    the decision's own statements. PostgreSQL (apm/steady_runs.py): red is ONE statement,
    the escalation's counting UPDATE (unless a window may cover the run) with the ledger
    INSERT drawn from it; green is ONE statement, the INSERT if nothing is open and no
    window may cover the run. SQLite: red is BEGIN, the INSERT, the UPDATE, COMMIT; green
    is one read (nothing open, no window?) and the INSERT alone."""
    red = promql_baseline(name="avg_wait_days", target_value=30)  # 37.2: 24 % breach
    green = promql_baseline(name="roomy", target_value=40)  # 37.2 is within "≤ 40"
    services.run_baseline(red, at=AT)
    services.run_baseline(green, at=AT)
    escalation = Escalation.objects.get()
    audited = AuditEntry.objects.count()

    postgresql = connection.vendor == "postgresql"
    # The statements merged on PostgreSQL (2 -> 1 green, 4 -> 1 red), the same decisions.
    with django_assert_num_queries(1 if postgresql else 4):
        repeat = services.run_baseline(red, at=AT)
    with django_assert_num_queries(1 if postgresql else 2):
        services.run_baseline(green, at=AT)

    assert AuditEntry.objects.count() == audited
    escalation.refresh_from_db()
    assert escalation.breach_count == 2
    assert escalation.deviation == repeat
    assert escalation.level == "critical" and escalation.is_open
    assert Escalation.objects.count() == 1


def test_a_red_run_above_the_open_escalations_level_raises_it_and_is_audited(live_prometheus):
    baseline = promql_baseline(name="avg_wait_days", target_value=30)  # 37.2: 24 %: critical
    escalations.send(baseline, "Wait times creeping up", level="warning", actor="staff")

    services.run_baseline(baseline, at=AT)

    escalation = Escalation.objects.get()
    assert escalation.level == "critical" and escalation.breach_count == 1
    changes = [e.payload["change"] for e in AuditEntry.objects.filter(topic="apm.escalation")]
    assert changes == ["opened", "raised"]


def test_query_returning_several_series_is_an_error_not_a_guess(live_prometheus):
    baseline = promql_baseline(probe_query='{__name__=~"housing_wait_.*"}')
    deviation = services.run_baseline(baseline, at=AT)
    assert deviation.status == Deviation.Status.ERROR
    assert deviation.deviation_pct == 100.0
    assert "returned 2 series" in deviation.evidence["error"]


def test_seeds_invalid_promql_is_refused_with_prometheus_parse_message(live_prometheus):
    candidate = Baseline(
        program=f.program(),
        name="avg_wait_days",
        target_value=30,
        probe_kind=Baseline.ProbeKind.PROMQL,
        probe_query=f.SEED_INVALID_HOUSING_QUERY,
    )
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    message = refused.value.message_dict["probe_query"][0]
    assert "parse error" in message
    assert "binary expression must contain only scalar and instant vector types" in message


def test_unreachable_prometheus_at_save_saves_the_baseline_as_unverified(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    baseline = promql_baseline()
    baseline.refresh_from_db()
    assert baseline.probe_verified is False
    assert "Prometheus unreachable" in baseline.probe_note


def test_prometheus_down_is_an_error_then_ok_once_it_is_back(tmp_path, settings):
    server = PrometheusServer(tmp_path / "first", default_history()).start()
    try:
        settings.PROMETHEUS_URL = server.url
        baseline = promql_baseline(target_value=40)
    finally:
        server.stop()

    down = services.run_baseline(baseline, at=AT)
    assert down.status == Deviation.Status.ERROR
    assert down.deviation_pct == 100.0
    assert "Prometheus unreachable" in down.evidence["error"]

    # The same data comes back (a fresh server on the same port).
    again = PrometheusServer(tmp_path / "second", default_history())
    again.port, again.url = server.port, server.url
    again.start()
    try:
        back = services.run_baseline(baseline, at=AT)
    finally:
        again.stop()
    assert back.status == Deviation.Status.OK
    assert back.actual == pytest.approx(37.2)
    assert list(baseline.deviations.values_list("status", flat=True)) == ["ok", "error"]
