"""The seed's section-8 rows: metric conditions and an event, with rollback, throttle, isolate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ops.models import ActionRun, Incident, Notification
from ops.playbook import runner, triggers
from ops.services import register_service, rotate_ingest_key
from tests.factories import api_client, cluster_and_slack, make_channel, readings, tsa_ops

PORTAL = """\
id: Benefits_Portal
owner: VA
sensors:
  - name: request_latency_seconds
  - name: error_rate
  - name: cost_hourly
slo:
  target: request_latency_seconds
  threshold: 1
  window_seconds: 300
kubernetes:
  deployment: portal
  namespace: web
  ingress: portal-ingress
playbook:
  - if: error_rate > 2% for 5 min
    then: rollback deploy
  - if: cost_hourly > $500
    then: throttle traffic 20%
  - if: unauthorized_login
    then: isolate pod & page CIGIE
"""


@pytest.fixture
def cluster(settings, db):
    with cluster_and_slack(settings) as (kube, _slack):
        kube.add_deployment("portal", namespace="web", replicas=2, images=("p:1", "p:2"))
        kube.add_pod("portal-abc12", namespace="web", labels={"app": "portal", "tier": "web"})
        kube.add_ingress(
            "portal-ingress",
            namespace="web",
            annotations={"nginx.ingress.kubernetes.io/limit-rps": "100"},
        )
        make_channel("CIGIE", "slack", "#tsa_ops")
        tsa_ops()
        service = register_service(PORTAL).service
        yield kube, service


def run_all(incident):
    return {
        run.action: runner.execute(run.pk)
        for run in ActionRun.objects.filter(incident=incident, status="pending")
    }


def test_error_rate_above_2_percent_for_5_minutes_rolls_back(cluster):
    kube, service = cluster
    at = timezone.now()
    readings(service.id, [2.5] * 300, end=at, name="error_rate")
    assert triggers.evaluate_conditions(at) == 1
    incident = Incident.objects.get(condition="error_rate > 2% for 300s")
    assert run_all(incident) == {"rollback": "succeeded"}
    assert kube.image("portal", "web") == "p:1"


def test_error_rate_dipping_inside_the_window_does_not_hold(cluster):
    _kube, service = cluster
    at = timezone.now()
    readings(service.id, [2.5] * 200 + [1.0] + [2.5] * 99, end=at, name="error_rate")
    assert triggers.evaluate_conditions(at) == 0
    assert not Incident.objects.exists()


def test_cost_above_500_throttles_the_ingress_by_20_percent_once(cluster):
    kube, service = cluster
    at = timezone.now() - timedelta(minutes=10)
    readings(service.id, [650.0], end=at, name="cost_hourly")
    triggers.evaluate_conditions(at)
    incident = Incident.objects.get(condition="cost_hourly > $500")
    [run] = ActionRun.objects.filter(incident=incident)
    assert runner.execute(run.pk) == "succeeded"
    annotations = kube.ingresses[("web", "portal-ingress")]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "80"
    assert annotations["hms.ops/throttled-from"] == "100"
    # a retried run (patch went through, not recorded) does not throttle twice
    ActionRun.objects.filter(pk=run.pk).update(status="pending")
    assert runner.execute(run.pk) == "succeeded"
    assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "80"
    readings(service.id, [120.0], end=at + timedelta(minutes=1), name="cost_hourly")
    triggers.evaluate_conditions(at + timedelta(minutes=1))
    incident.refresh_from_db()
    assert incident.state == "resolved"


def test_unauthorized_login_event_isolates_the_pod_and_pages_cigie(cluster):
    kube, service = cluster
    ingest_key = rotate_ingest_key(service)
    client = api_client()
    body = {"name": "unauthorized_login", "pod": "portal-abc12"}
    response = client.post(
        f"/api/v1/services/{service.id}/events/",
        body,
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 201, response.json()
    again = client.post(
        f"/api/v1/services/{service.id}/events/",
        body,
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert again.json()["id"] == response.json()["id"]
    incident = Incident.objects.get()
    assert run_all(incident) == {"isolate": "succeeded", "page": "succeeded"}
    labels = kube.pods[("web", "portal-abc12")]["metadata"]["labels"]
    assert labels == {"tier": "web", "hms.ops/isolated": "portal-abc12"}
    policy = kube.network_policies[("web", "hms-isolate-portal-abc12")]
    assert policy["spec"] == {
        "podSelector": {"matchLabels": {"hms.ops/isolated": "portal-abc12"}},
        "policyTypes": ["Ingress", "Egress"],
    }
    assert Notification.objects.get().channel.name == "CIGIE"


def test_unknown_event_is_a_400_naming_the_field(cluster):
    _kube, service = cluster
    ingest_key = rotate_ingest_key(service)
    response = api_client().post(
        f"/api/v1/services/{service.id}/events/",
        {"name": "printer_on_fire"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 400
    assert "printer_on_fire" in response.json()["name"][0]
    assert not Incident.objects.exists()


def test_isolate_without_a_pod_fails_permanently_and_pages(cluster):
    _kube, service = cluster
    incident = triggers.raise_event(service, "unauthorized_login")
    isolate = ActionRun.objects.get(incident=incident, action="isolate")
    assert runner.execute(isolate.pk) == "failed"
    isolate.refresh_from_db()
    assert "no pod named" in isolate.detail["failure"]
