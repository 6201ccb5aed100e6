"""POST /api/v1/alertmanager/: Alertmanager alerts drive the playbooks of registered services."""

import time
from urllib.parse import urlsplit

import pytest

from ops.models import ActionRun, AuditEntry, Incident
from ops.services import register_service, rotate_ingest_key
from tests.factories import api_client
from tests.support.alertmanager import AlertmanagerServer, binary_available
from tests.support.http_server import LoopbackServer, Reply
from tests.support.prometheus import PrometheusServer, binaries_available
from tests.support.services import require

pytestmark = pytest.mark.django_db

PORTAL = """\
id: Benefits_Portal
owner: VA
sensors:
  - name: request_latency_seconds
slo:
  target: request_latency_seconds
  threshold: 1
  window_seconds: 300
playbook:
  - if: HighErrorRate
    then: log_to HMS-DTA
  - if: recovered
    then: log_to HMS-DTA
"""
TOKEN = "receiver-key-" + "r" * 40
URL = "/api/v1/alertmanager/"


@pytest.fixture
def portal(settings):
    settings.HMS_ALERTMANAGER_TOKEN = TOKEN
    return register_service(PORTAL).service


def alert(status="firing", fingerprint="242267af8e7454a5", **labels):
    labels = {"alertname": "HighErrorRate", "service": "Benefits_Portal", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "errors above 2 %"},
        "startsAt": "2026-12-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint,
    }


def notify(*alerts, key=TOKEN, status=None):
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status or alerts[0]["status"],
        "receiver": "hms",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": list(alerts),
    }
    client = api_client()
    return client.post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def open_incidents():
    return list(Incident.objects.filter(state=Incident.State.OPEN))


def test_a_firing_alert_opens_the_event_incident_and_plans_its_step_once(portal):
    answer = notify(alert())
    assert answer.status_code == 200, answer.content
    assert answer.json()["alerts"][0]["result"] == "opened"
    (incident,) = open_incidents()
    assert incident.condition == "event:HighErrorRate"
    planned = ActionRun.objects.filter(incident=incident, trigger="event")
    assert [r.action for r in planned] == ["log_to"]

    # Alertmanager repeats a firing group every group_interval: nothing more happens.
    again = notify(alert())
    assert again.json()["alerts"][0]["result"] == "firing"
    assert open_incidents() == [incident]
    assert ActionRun.objects.filter(incident=incident).count() == 1


def test_resolved_resolves_it_and_runs_the_recovered_step(portal):
    notify(alert())
    answer = notify(alert(status="resolved"))
    assert answer.json()["alerts"][0]["result"] == "resolved"
    incident = Incident.objects.get()
    assert incident.state == Incident.State.RESOLVED
    assert incident.resolved_by == "alertmanager"
    assert ActionRun.objects.filter(incident=incident, trigger="recovered").count() == 1
    # A resolved notice repeated (or for an alert never seen) changes nothing.
    assert notify(alert(status="resolved")).json()["alerts"][0]["result"] == "skipped"
    assert Incident.objects.count() == 1


def test_the_incident_stays_open_until_every_firing_instance_resolves(portal):
    notify(alert(fingerprint="aaaa", instance="a"), alert(fingerprint="bbbb", instance="b"))
    assert len(open_incidents()) == 1
    first = notify(alert(status="resolved", fingerprint="aaaa", instance="a"))
    assert first.json()["alerts"][0]["result"] == "still_firing"
    assert len(open_incidents()) == 1
    notify(alert(status="resolved", fingerprint="bbbb", instance="b"))
    assert open_incidents() == []


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"service": "No_Such_Service"}, "no such service"),
        ({"alertname": "DiskFull"}, "no step for event 'DiskFull'"),
        ({"service": ""}, "no 'service' label"),
    ],
)
def test_alerts_it_cannot_act_on_are_skipped_with_the_reason(portal, labels, reason):
    answer = notify(alert(**labels))
    assert answer.status_code == 200
    outcome = answer.json()["alerts"][0]
    assert outcome["result"] == "skipped"
    assert reason in outcome["reason"]
    assert Incident.objects.count() == 0


def test_the_service_label_is_configurable(portal, settings):
    settings.HMS_ALERTMANAGER_SERVICE_LABEL = "hms_service"
    answer = notify(alert(service="", hms_service="Benefits_Portal"))
    assert answer.json()["alerts"][0]["result"] == "opened"


def test_an_ingest_key_reports_only_its_own_services_alerts(portal):
    other = register_service(PORTAL.replace("Benefits_Portal", "Other_Portal")).service
    key = rotate_ingest_key(portal)
    answer = notify(alert(), alert(service=other.id, fingerprint="cccc"), key=key)
    assert answer.status_code == 200
    results = [o["result"] for o in answer.json()["alerts"]]
    assert results == ["opened", "skipped"]
    assert [i.service_id for i in open_incidents()] == ["Benefits_Portal"]


@pytest.mark.parametrize("key", ["", "wrong", TOKEN + "x", "hms_ingest_notakey"])
def test_without_a_valid_key_nothing_happens(portal, key):
    answer = notify(alert(), key=key)
    assert answer.status_code in (401, 403)
    assert answer["Content-Type"].startswith("application/json")
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": [{"status": "firing", "labels": {}}]}, "alerts"),
        ({"alerts": [dict(alert(), status="pending")]}, "alerts"),
        ({"alerts": [dict(alert(), fingerprint="<script>")]}, "alerts"),
        ({"alerts": "many"}, "alerts"),
    ],
)
def test_a_malformed_payload_is_a_400_naming_the_field(portal, change, field):
    body = {"version": "4", "status": "firing", "alerts": [alert()], **change}
    answer = api_client().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 400
    assert field in answer.json()
    assert Incident.objects.count() == 0


RULES = """\
groups:
  - name: portal
    rules:
      - alert: HighErrorRate
        expr: portal_error_percent > 2
"""


def wait_for(predicate, what, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_alertmanager_fed_by_prometheus_opens_and_resolves_one_incident(
    settings, tmp_path, live_server, celery_worker
):
    if not binary_available():
        require("Alertmanager", "not installed (apt-get install prometheus-alertmanager)")
    if binaries_available():
        require("Prometheus", "not installed (apt-get install prometheus)")
    settings.HMS_ALERTMANAGER_TOKEN = TOKEN
    register_service(PORTAL)
    error_percent = {"value": 5.0}

    def exporter(_request):
        text = f'portal_error_percent{{service="Benefits_Portal"}} {error_percent["value"]}\n'
        return Reply(200, text, headers={"Content-Type": "text/plain; version=0.0.4"})

    port = urlsplit(live_server.url).port
    with LoopbackServer(exporter) as target:
        am = AlertmanagerServer(
            tmp_path / "am",
            webhook_url=f"http://127.0.0.1:{port}{URL}",
            bearer=TOKEN,
        ).start()
        prom = PrometheusServer(
            tmp_path / "prom",
            [],
            scrape=urlsplit(target.url).netloc,
            rules=RULES,
            alertmanager=am.address,
        )
        try:
            prom.start()
            wait_for(lambda: Incident.objects.filter(state="open").exists(), "the incident")
            (incident,) = Incident.objects.all()
            assert incident.condition == "event:HighErrorRate"
            step = ActionRun.objects.get(incident=incident, trigger="event")
            wait_for(
                lambda: ActionRun.objects.get(pk=step.pk).status == "succeeded",
                "the worker to run the step",
            )
            logged = AuditEntry.objects.filter(payload__event="log", payload__incident=incident.pk)
            assert logged.count() == 1

            error_percent["value"] = 0.5
            wait_for(
                lambda: Incident.objects.get(pk=incident.pk).state == "resolved",
                "the resolved notification",
            )
        finally:
            prom.stop()
            am.stop()

    assert Incident.objects.count() == 1
    (step,) = ActionRun.objects.filter(incident=incident, trigger="event")
    assert (step.status, step.attempts) == ("succeeded", 1)
    assert Incident.objects.get(pk=incident.pk).resolved_by == "alertmanager"
