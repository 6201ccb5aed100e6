"""The seed's section-9 checklist, end to end on real parts.

scanner.ops.yaml registered through the API (ops_sdk against the live server),
readings of 38 s emitted through the SDK, the SLO evaluated by the beat's task
on a real Celery worker, the deployment scaled by +2 through the real
``kubernetes`` client (seen by the loopback apps/v1 server), Slack paged once
after the still_breach_after delay (60 s times HMS_PLAYBOOK_DELAY_SCALE), and every
step in ``GET /api/v1/audit/?topic=ops.incident``. Run on each metrics store: the
``database`` store and the ``prometheus`` store against a real Prometheus on loopback.
"""

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token

import ops_sdk
from hms_site.celery import app
from ops.metrics.store import WindowQuery, get_store
from ops.models import ActionRun, Incident
from tests.factories import (
    DEPLOYMENT,
    api_client,
    cluster_and_slack,
    make_user,
    patches,
    staff_alice,
    tsa_ops,
)
from tests.support.services import wait_until
from tests.support.worker import worker_drained

pytestmark = pytest.mark.services
SCANNER_FILE = Path(django_settings.BASE_DIR) / "fixtures" / "scanner.ops.yaml"
BEAT_TASK = django_settings.CELERY_BEAT_SCHEDULE["ops-evaluate-slos"]["task"]


def _stored_samples(service: str, now: float) -> int:
    """Samples of the scanner's metric in the last minute, read from the configured store."""
    at = datetime.fromtimestamp(now + 1, tz=UTC)
    query = WindowQuery(service, "queue_time_seconds", 60, at, "count")
    return get_store().window_stats([query])[0].samples


def beat_until(condition, what, timeout=30):
    """Send the beat's evaluation task by name through the worker until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.send_task(BEAT_TASK).get(timeout=30)
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_seed_checklist_scales_pages_once_and_logs_every_step(
    settings, each_metrics_store, live_server, celery_worker
):
    settings.HMS_PLAYBOOK_DELAY_SCALE = 0.05  # still_breach_after 60 -> 3 s
    alice = staff_alice()
    alice_api = api_client(alice)
    token = Token.objects.get(user=alice).key
    with cluster_and_slack(settings, replicas=3) as (kube, slack):
        tsa_ops()
        # ☐ .ops.yaml lists sensors, slo and playbook; ☐ ops.register() returns an ID
        client = ops_sdk.configure(live_server.url, token)
        svc = ops_sdk.register(SCANNER_FILE, client=client)
        assert svc.id == "DCA_Luggage_Scanner"
        ops_sdk.configure(live_server.url, token, service=svc.id, ingest_key=svc.ingest_key)
        now = time.time()
        for i in range(10):
            ops_sdk.emit("queue_time_seconds", 38.0, ts=now - 5 * i)
        assert ops_sdk.flush(10)
        assert _stored_samples(svc.id, now) == 10  # in the store under test

        # ☐ SLO breach triggers the first playbook action (watch the cluster)
        beat_until(lambda: kube.replicas(DEPLOYMENT) == 5, "the scale to 3 + 2")
        assert ops_sdk.status(svc.id, client=client)["slo_state"] == "breached"
        # Slack is paged after the (shortened) 60 s of continued breach, once.
        wait_until(lambda: len(slack.messages) >= 1, timeout=60, what="the page")
        for _ in range(3):  # more passes while still breached change nothing
            app.send_task(BEAT_TASK).get(timeout=30)
        worker_drained()  # anything those passes queued has run

    scale_patches = [r for r in patches(kube) if r.path.endswith("/scale")]
    assert [r.json() for r in scale_patches] == [{"spec": {"replicas": 5}}]
    assert (
        scale_patches[0].path == f"/apis/apps/v1/namespaces/default/deployments/{DEPLOYMENT}/scale"
    )
    [page] = slack.messages
    assert page["channel"] == "#tsa_ops" or page["channel"].startswith("C")
    assert "DCA_Luggage_Scanner" in page["text"] and "critical" in page["text"]

    incident = Incident.objects.get()
    assert incident.state == Incident.State.OPEN
    statuses = {(r.step, r.action): r.status for r in ActionRun.objects.filter(incident=incident)}
    assert statuses == {
        (0, "scale_up"): "succeeded",
        (1, "page"): "succeeded",
        (2, "log_to"): "succeeded",
    }
    status = alice_api.get(f"/api/v1/services/{svc.id}/status/").json()
    assert status["open_incident"]["id"] == incident.pk

    # ☐ A log entry lands in HMS-DTA (dta.find(topic="ops.incident"))
    dave = api_client(make_user("auditor_dave", perms=("ops.view_auditentry",)))
    body = dave.get("/api/v1/audit/?topic=ops.incident").json()
    entries = body["results"]
    events = sorted((e["payload"]["event"], e["payload"].get("action", "")) for e in entries)
    assert events == [
        ("action_succeeded", "log_to"),
        ("action_succeeded", "page"),
        ("action_succeeded", "scale_up"),
        ("log", ""),
        ("opened", ""),
    ]
    scaled = next(e for e in entries if e["payload"].get("action") == "scale_up")
    assert scaled["payload"]["detail"]["kubernetes"]["body"] == {"spec": {"replicas": 5}}


def test_breach_emitted_twice_and_evaluation_delivered_twice_scales_once(
    settings, each_metrics_store, celery_worker
):
    settings.HMS_PLAYBOOK_DELAY_SCALE = 100  # the page stays in the future
    with cluster_and_slack(settings, replicas=3) as (kube, _slack):
        tsa_ops()
        alice = api_client(staff_alice())
        key = alice.post(
            "/api/v1/services/", data=SCANNER_FILE.read_bytes(), content_type="application/yaml"
        ).json()["ingest_key"]
        now = time.time()
        for _ in range(2):  # the same breach reported twice
            samples = [
                {"name": "queue_time_seconds", "value": 38.0, "ts": now - i} for i in range(5)
            ]
            response = api_client().post(
                "/api/v1/metrics/",
                {"samples": samples},
                format="json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )
            assert response.status_code == 201
        assert _stored_samples("DCA_Luggage_Scanner", now) == 5  # the resend is not counted twice
        first = app.send_task(BEAT_TASK, args=(now,))
        second = app.send_task(BEAT_TASK, args=(now,))  # the same pass delivered twice
        assert sorted(r.get(timeout=30)["changes"] for r in (first, second)) == [0, 1]
        wait_until(lambda: kube.replicas(DEPLOYMENT) == 5, timeout=60, what="the scale")
        app.send_task(BEAT_TASK).get(timeout=30)  # a later pass sweeps: nothing more is due
        worker_drained()  # anything that pass queued has run
    assert len([r for r in patches(kube) if r.path.endswith("/scale")]) == 1
    assert Incident.objects.count() == 1
    assert ActionRun.objects.get(action="scale_up").attempts == 1
