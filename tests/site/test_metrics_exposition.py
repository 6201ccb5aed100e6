"""Every verdict at /metrics: the ledger's figures, bounded statements, an optional token,
a real Prometheus scraping it, and a Grafana dashboard built only on exported names."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apm import services
from apm.models import Baseline, Deviation, Escalation, Program
from ops.models import SLO, ActionRun, Channel, Incident, Notification, Service
from tests import factories as f
from tests import factories as pf
from tests.support.history import EVAL_TIME, default_history
from tests.support.prometheus import PrometheusServer, binaries_available
from tests.support.services import require

pytestmark = pytest.mark.django_db

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "hms-monitor.json"


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def labels(**pairs) -> tuple:
    return tuple(sorted(pairs.items()))


def test_baseline_verdicts_are_the_ledgers_latest_live_evaluation(client):
    program = pf.program(owner_group=None, code="fast-track")
    wait = pf.ledger_baseline(program, name="avg_wait_days", target_value=30)
    pf.deviation(wait, 33.0, days_ago=2)
    latest = pf.deviation(wait, 37.2, days_ago=1)
    # A backfill of a later past moment is history, never the current verdict.
    Deviation.objects.create(
        baseline=wait,
        evaluated_at=timezone.now() - timedelta(hours=1),
        actual=10.0,
        deviation_pct=-66.7,
        status=Deviation.Status.OK,
        evidence={},
        trigger=Deviation.Trigger.BACKFILL,
    )
    never_run = pf.ledger_baseline(program, name="never_run", target_value=5)

    samples = scrape(client)

    key = labels(program="fast-track", baseline="avg_wait_days")
    assert samples[("hms_baseline_actual", key)] == pytest.approx(37.2)
    assert samples[("hms_baseline_deviation_pct", key)] == pytest.approx(latest.deviation_pct)
    assert (
        samples[
            (
                "hms_baseline_status",
                labels(program="fast-track", baseline="avg_wait_days", status="breach"),
            )
        ]
        == 1.0
    )
    assert (
        samples[
            (
                "hms_baseline_status",
                labels(program="fast-track", baseline="avg_wait_days", status="ok"),
            )
        ]
        == 0.0
    )
    assert not any(never_run.name in dict(k[1]).values() for k in samples)


def test_no_data_verdict_has_a_deviation_but_no_actual(client):
    program = pf.program(owner_group=None, code="fast-track")
    pf.deviation(pf.ledger_baseline(program, name="silent"), None)
    samples = scrape(client)
    key = labels(program="fast-track", baseline="silent")
    assert ("hms_baseline_actual", key) not in samples
    assert samples[("hms_baseline_deviation_pct", key)] == 100.0
    assert (
        samples[
            (
                "hms_baseline_status",
                labels(program="fast-track", baseline="silent", status="no_data"),
            )
        ]
        == 1.0
    )


def test_open_escalations_by_program_and_level(client):
    program = pf.program(owner_group=None, code="fast-track")
    red = pf.ledger_baseline(program, name="avg_wait_days", target_value=30)
    pf.escalated(red, 60.0)
    samples = scrape(client)
    level = Escalation.objects.get().level
    assert samples[("hms_escalations_open", labels(program="fast-track", level=level))] == 1.0


def test_slo_incidents_notifications_and_playbook_queue(client):
    service = pf.make_service("DCA_Luggage_Scanner", threshold=30).service
    slo = SLO.objects.get(service=service)
    SLO.objects.filter(pk=slo.pk).update(state=SLO.State.BREACHED, value=38.0)
    incident = Incident.objects.create(service=service, slo=slo, opened_at=timezone.now())
    channel = Channel.objects.create(name="tsa_ops", kind="slack", target="#tsa-ops")
    old = timezone.now() - timedelta(minutes=10)
    for n, status in enumerate(["pending", "pending", "failed", "sent"]):
        Notification.objects.create(
            channel=channel, message="m", dedupe_key=f"k{n}", status=status, created_at=old
        )
    ActionRun.objects.create(
        incident=incident, step=1, trigger="slo_breach", action="page", due_at=old
    )

    samples = scrape(client)

    key = labels(service="DCA_Luggage_Scanner", target=slo.target)
    assert samples[("hms_slo_value", key)] == 38.0
    assert samples[("hms_slo_threshold", key)] == 30.0
    assert (
        samples[
            (
                "hms_slo_state",
                labels(service="DCA_Luggage_Scanner", target=slo.target, state="breached"),
            )
        ]
        == 1.0
    )
    assert (
        samples[
            (
                "hms_slo_state",
                labels(service="DCA_Luggage_Scanner", target=slo.target, state="healthy"),
            )
        ]
        == 0.0
    )
    assert samples[("hms_incidents_open", labels(service="DCA_Luggage_Scanner"))] == 1.0
    assert samples[("hms_notifications_pending", labels(channel="tsa_ops"))] == 2.0
    assert samples[("hms_notifications_failed", labels(channel="tsa_ops"))] == 1.0
    assert samples[("hms_outbox_oldest_pending_age_seconds", ())] >= 600
    assert samples[("hms_playbook_actions_due", ())] == 1.0
    assert samples[("hms_playbook_oldest_due_age_seconds", ())] >= 600


def test_a_scrape_of_1000_baselines_and_1000_services_is_a_fixed_number_of_statements(
    client, django_assert_max_num_queries
):
    now = timezone.now()
    program = Program.objects.create(code="big", name="Big program")
    baselines = Baseline.objects.bulk_create(
        Baseline(program=program, name=f"b{i}", target_value=10, probe_query="x")
        for i in range(1000)
    )
    Deviation.objects.bulk_create(
        Deviation(
            baseline=b,
            evaluated_at=now - timedelta(minutes=m),
            actual=11.0 + m,
            deviation_pct=10.0 + m,
            status="ok",
            evidence={},
            trigger="schedule",
        )
        for b in baselines
        for m in (1, 2)
    )
    services_ = Service.objects.bulk_create(
        Service(id=f"svc{i}", owner="o", document={}) for i in range(1000)
    )
    SLO.objects.bulk_create(
        SLO(service=s, target="queue_time_seconds", threshold=30, window_seconds=300, value=31)
        for s in services_
    )
    Incident.objects.bulk_create(Incident(service=s, opened_at=now) for s in services_[:500])

    with django_assert_max_num_queries(10):
        samples = scrape(client)

    assert samples[("hms_baseline_actual", labels(program="big", baseline="b999"))] == 12.0
    assert sum(1 for name, _ in samples if name == "hms_slo_value") == 1000
    assert sum(1 for name, _ in samples if name == "hms_incidents_open") == 500


def test_with_a_token_a_scrape_needs_it(client, settings):
    settings.HMS_METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-metrics-token").status_code == 401
    )
    refused = client.get("/metrics")
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert refused.json()["detail"]
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert ok.status_code == 200


def test_the_grafana_dashboard_queries_only_exported_metrics(client):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert exprs, "the dashboard has no query"
    queried = {name for expr in exprs for name in re.findall(r"\bhms_[a-z_]+", expr)}
    exported = {
        family.name
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
    }
    assert queried, "the dashboard queries no hms_ metric"
    assert queried <= exported, f"not exported: {sorted(queried - exported)}"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scraping_metrics_answers_the_ledgers_deviation(
    live_server, settings, tmp_path
):
    missing = binaries_available()
    if missing:
        require("Prometheus", f"not installed: {missing} (apt-get install prometheus)")
    history = PrometheusServer(tmp_path / "history", default_history()).start()
    try:
        settings.PROMETHEUS_URL = history.url
        baseline = f.baseline(
            name="avg_wait_days",
            target_value=30,
            compare_op="le",
            probe_kind=Baseline.ProbeKind.PROMQL,
            probe_query=f.VALID_HOUSING_QUERY,
        )
        deviation = services.run_baseline(baseline, at=datetime.fromtimestamp(EVAL_TIME, tz=UTC))
    finally:
        history.stop()
    assert deviation.deviation_pct == pytest.approx(24.0)

    port = urlsplit(live_server.url).port
    scraper = PrometheusServer(tmp_path / "scraper", [], scrape=f"127.0.0.1:{port}").start()
    try:
        query = 'hms_baseline_deviation_pct{baseline="avg_wait_days"}'
        deadline = time.monotonic() + 30
        result = []
        while time.monotonic() < deadline and not result:
            answer = requests.get(
                f"{scraper.url}/api/v1/query", params={"query": query}, timeout=5
            ).json()
            result = answer["data"]["result"]
            if not result:
                time.sleep(0.5)
        assert result, f"Prometheus never scraped the value: {scraper.read_log()[-1500:]}"
        assert float(result[0]["value"][1]) == pytest.approx(deviation.deviation_pct)
        assert result[0]["metric"]["program"] == baseline.program.code
    finally:
        scraper.stop()


def test_the_error_budget_left_is_exported_for_slos_with_an_objective(client):
    from ops.budget.evaluate import status_of
    from ops.services import register_service

    register_service(
        "id: Portal\nowner: SSA\nsensors:\n  - name: latency\nslo:\n  target: latency\n"
        "  threshold: 1\n  window_seconds: 300\n  objective: 99\n"
    )
    pf.make_service("Scanner")  # no objective: no budget series
    pf.readings("Portal", [0.2] * 99 + [3.0], name="latency")  # 1 bad of 100: 1 % of 1 %
    samples = scrape(client)
    expected = status_of(SLO.objects.get(service_id="Portal"))["remaining_pct"] / 100
    key = labels(service="Portal", target="latency")
    assert samples[("hms_error_budget_remaining_ratio", key)] == pytest.approx(expected)
    assert expected == pytest.approx(0.0)
    assert not any(
        name == "hms_error_budget_remaining_ratio" and dict(k)["service"] == "Scanner"
        for name, k in samples
    )
