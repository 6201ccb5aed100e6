"""Issue 15's "Done when" for minimum samples and maintenance windows (docs/VERDICTS.md)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apm import maintenance, policies, services
from apm.models import Deviation, Escalation, MaintenanceWindow, Ticket
from ops.models import SLO, ActionRun, AuditEntry, Incident, Notification, SLOStateChange
from ops.playbook import runner
from ops.services import register_service
from ops.slo import evaluate_all
from tests import factories as f
from tests.factories import SCANNER_YAML, cluster_and_slack, patches, readings, tsa_ops

pytestmark = pytest.mark.django_db
SCANNER = "DCA_Luggage_Scanner"
DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def cluster(settings, db):
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 0
    with cluster_and_slack(settings, replicas=3) as (kube, _slack):
        tsa_ops()
        register_service(SCANNER_YAML)  # the seed's file: no min_samples, so 5
        yield kube


def run_due(at) -> dict:
    return {
        run.action: runner.execute(run.pk)
        for run in ActionRun.objects.filter(status="pending", due_at__lte=at).order_by("pk")
    }


def test_one_reading_is_insufficient_data_and_five_above_the_threshold_breach(cluster):
    kube = cluster
    at = timezone.now() - timedelta(minutes=1)  # the runner claims what is due by now
    readings(SCANNER, [77.0], end=at)  # the single ops.emit(77)
    evaluate_all(at)
    slo = SLO.objects.get()
    assert (slo.min_samples, slo.state, slo.sample_count) == (5, "insufficient_data", 1)
    assert not Incident.objects.exists() and not ActionRun.objects.exists()
    assert kube.requests == []
    readings(SCANNER, [77.0] * 4, end=at + timedelta(seconds=5))
    evaluate_all(at + timedelta(seconds=5))
    slo.refresh_from_db()
    assert (slo.state, slo.sample_count) == ("breached", 5)
    change = SLOStateChange.objects.get(to_state="breached")
    assert (change.from_state, change.sample_count, change.in_maintenance) == (
        "insufficient_data",
        5,
        False,
    )
    assert run_due(at + timedelta(seconds=5))["scale_up"] == "succeeded"
    assert len(patches(kube)) == 1


def test_a_service_window_measures_but_runs_no_corrective_action_until_it_ends(cluster):
    kube = cluster
    at = timezone.now() - timedelta(minutes=20)  # the window is over by now
    window = maintenance.create_window(
        service_id=SCANNER,
        starts_at=at - timedelta(minutes=1),
        ends_at=at + timedelta(minutes=10),
        reason="scanner firmware upgrade",
        actor="test",
    )
    readings(SCANNER, [38.0] * 10, end=at)
    evaluate_all(at)
    slo = SLO.objects.get()
    assert (slo.state, slo.in_maintenance) == ("breached", True)  # measured and stored
    assert SLOStateChange.objects.get(to_state="breached").in_maintenance is True
    incident = Incident.objects.get()
    skipped = ActionRun.objects.filter(incident=incident, detail__skipped="maintenance")
    assert set(skipped.values_list("action", flat=True)) == {"scale_up", "page"}
    assert run_due(at) == {"log_to": "succeeded"}  # the `always` log still runs
    assert patches(kube) == [] and not Notification.objects.exists()
    # The window ends: the next pass, still breached, runs the playbook as usual.
    after = window.ends_at + timedelta(seconds=1)
    readings(SCANNER, [38.0] * 10, end=after)
    evaluate_all(after)
    slo.refresh_from_db()
    assert (slo.state, slo.in_maintenance) == ("breached", False)
    assert run_due(after)["scale_up"] == "succeeded"
    assert len(patches(kube)) == 1


def test_a_run_that_starts_inside_a_later_window_is_skipped_by_the_runner(cluster):
    kube = cluster
    at = timezone.now()
    readings(SCANNER, [38.0] * 10, end=at)
    evaluate_all(at)
    maintenance.create_window(
        service_id=SCANNER, starts_at=at, ends_at=at + timedelta(hours=1), reason="x", actor="t"
    )
    scale = ActionRun.objects.get(action="scale_up")
    assert runner.execute(scale.pk) == "skipped"
    scale.refresh_from_db()
    assert scale.detail["skipped"] == "maintenance" and patches(kube) == []


def test_a_program_window_over_a_red_baseline_stores_the_run_and_escalates_nothing():
    program = f.program(code="fast-track-housing")
    wait = f.baseline(program, name="avg_wait_days", probe_query="SELECT 37.2")
    f.slack_route(program)
    now = timezone.now()
    window = maintenance.create_window(
        program=program,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="ledger migration",
        actor="test",
    )
    deviation = services.run_baseline(wait)
    assert (deviation.status, deviation.in_maintenance) == ("breach", True)
    assert (deviation.sample_count, deviation.source[:5]) == (1, "sql: ")
    assert not Escalation.objects.exists() and not Notification.objects.exists()
    maintenance.update_window(window, ends_at=now - timedelta(minutes=1), actor="test")
    after = services.run_baseline(wait)
    assert after.in_maintenance is False
    assert Escalation.objects.get().deviation == after  # the next red run escalates
    assert Notification.objects.count() == 1
    assert AuditEntry.objects.filter(topic="apm.maintenance").count() == 2


def test_the_14_day_policy_counts_only_red_days_outside_windows():
    wait = f.baseline(f.program(code="fast-track-housing"), probe_query="SELECT 37.2")
    policies.load(
        f"- baseline: {wait.name}\n  after_days_no_fix: 14\n  action: recommend_leadership_review\n"
    )
    maintenance.create_window(
        baseline=wait,
        starts_at=DAY0 + timedelta(days=3),
        ends_at=DAY0 + timedelta(days=8),
        reason="planned outage",
        actor="test",
    )
    opened = []
    for day in range(21):
        now = DAY0 + timedelta(days=day)
        services.run_baseline(wait, at=now)
        opened += policies.apply_policies(now=now + timedelta(minutes=30))
    quiet = Deviation.objects.filter(in_maintenance=True).count()
    assert quiet == 5
    [ticket] = opened
    # Red from day 0, five of those days in maintenance: the 14th red day outside is day 19.
    assert ticket.created_at == DAY0 + timedelta(days=19, minutes=30)
    assert "red for 14 days" in ticket.title
    assert Ticket.objects.count() == 1


def test_one_reading_of_a_metric_baseline_below_min_samples_is_insufficient_data():
    f.make_service(SCANNER)
    now = timezone.now()
    readings(SCANNER, [99.0, 98.0], end=now)
    wait = f.baseline(
        probe_kind="metric",
        probe_query=f'avg(queue_time_seconds{{service="{SCANNER}"}}[5m])',
        min_samples=3,
    )
    f.slack_route(wait.program)
    deviation = services.run_baseline(wait, at=now)
    assert (deviation.status, deviation.sample_count) == ("insufficient_data", 2)
    assert deviation.newest_sample_at == now
    assert "needs 3" in deviation.evidence["insufficient_data"]
    assert not Escalation.objects.exists() and not Notification.objects.exists()
    readings(SCANNER, [99.0], end=now + timedelta(seconds=1))
    assert services.run_baseline(wait, at=now + timedelta(seconds=1)).status == "breach"
    assert Escalation.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no scope
        {"program": True, "baseline": True},
        {"program": True, "service": True},
    ],
)
def test_a_window_needs_exactly_one_scope(fields):
    program = f.program()
    scope = {
        "program": program if fields.get("program") else None,
        "baseline": f.baseline(program) if fields.get("baseline") else None,
        "service": f.make_service(SCANNER).service if fields.get("service") else None,
    }
    now = timezone.now()
    with pytest.raises(ValidationError):
        maintenance.create_window(
            **scope, starts_at=now, ends_at=now + timedelta(hours=1), reason="x", actor="t"
        )
    assert not MaintenanceWindow.objects.exists()


def test_a_weekly_window_repeats_every_seven_days():
    program = f.program()
    start = DAY0
    window = maintenance.create_window(
        program=program,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        recurrence="weekly",
        reason="Sunday patching",
        actor="t",
    )
    assert window.covers(start + timedelta(days=14, hours=1))
    assert not window.covers(start + timedelta(days=14, hours=2))
    assert not window.covers(start - timedelta(minutes=1))
    spans = window.spans(start + timedelta(days=6), start + timedelta(days=15))
    assert spans == [
        (start + timedelta(days=7), start + timedelta(days=7, hours=2)),
        (start + timedelta(days=14), start + timedelta(days=14, hours=2)),
    ]


@pytest.mark.parametrize(
    ("query", "companion"),
    [
        ("avg_over_time(wait_days[7d])", "sum(count_over_time(wait_days[7d]))"),
        (
            'avg(quantile_over_time(0.95, latency_seconds{job="api"}[5m]))',
            'sum(count_over_time(latency_seconds{job="api"}[5m]))',
        ),
        ("rate(wait_days_sum[7d]) / rate(wait_days_count[7d])", None),
        ("avg_over_time(a[1h]) / avg_over_time(b[1h])", None),
        ("avg_over_time(a)", None),
    ],
)
def test_the_promql_count_companion(query, companion):
    from apm.probes.promql import count_companion

    assert count_companion(query) == companion


def test_min_samples_above_one_is_refused_where_the_probe_cannot_count():
    program = f.program()
    for kind, query in (("sql", "SELECT 1"), ("promql", "rate(x_total[5m])")):
        baseline = f.baseline(program, clean=False, probe_kind=kind, probe_query=query)
        baseline.min_samples = 3
        with pytest.raises(ValidationError) as refused:
            baseline.full_clean()
        assert "min_samples" in refused.value.message_dict


@pytest.mark.parametrize("bad", ["0", "-1", "five", "2.5"])
def test_a_bad_slo_min_samples_names_the_line(bad):
    from ops.servicedef import DefinitionError, parse_definition

    text = SCANNER_YAML.replace(
        "  window_seconds: 300", f"  window_seconds: 300\n  min_samples: {bad}"
    )
    with pytest.raises(DefinitionError) as refused:
        parse_definition(text, check_targets=False)
    [message] = refused.value.errors["slo.min_samples"]
    assert message.startswith("line 10: ")
