"""The evaluation task on a real Celery worker (Redis), readings pushed through the real API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ops.models import SLOStateChange
from ops.tasks import evaluate_slos
from tests.factories import SCANNER_YAML, api_client, staff_alice

pytestmark = pytest.mark.services


def push(client, key, values, end, step=5):
    samples = [
        {
            "name": "queue_time_seconds",
            "value": v,
            "ts": (end - timedelta(seconds=step * i)).timestamp(),
        }
        for i, v in enumerate(reversed(values))
    ]
    response = client.post(
        "/api/v1/metrics/", {"samples": samples}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 201, response.json()


def status(client):
    return client.get("/api/v1/services/DCA_Luggage_Scanner/status/").json()


def test_breach_recovery_and_no_data_through_the_api_and_a_real_worker(celery_worker):
    alice = api_client(staff_alice())
    created = alice.post(
        "/api/v1/services/", data=SCANNER_YAML.encode(), content_type="application/yaml"
    )
    key = created.json()["ingest_key"]
    ingest = api_client()
    t0 = timezone.now() - timedelta(minutes=10)

    push(ingest, key, [20.0] * 40 + [35.0] * 20, end=t0)  # 5 minutes, p95 = 35 s
    evaluate_slos.delay(t0.timestamp()).get(timeout=30)
    assert status(alice)["slo_state"] == "breached"
    assert status(alice)["value"] == pytest.approx(35.0)

    t1 = t0 + timedelta(minutes=5)
    push(ingest, key, [14.0] * 60, end=t1)  # the next 5 minutes are fast again
    evaluate_slos.delay(t1.timestamp()).get(timeout=30)
    assert status(alice)["slo_state"] == "healthy"

    evaluate_slos.delay((t1 + timedelta(minutes=6)).timestamp()).get(timeout=30)
    assert status(alice)["slo_state"] == "no_data"
    assert SLOStateChange.objects.count() == 3


def test_beat_style_call_without_arguments_evaluates_now_and_double_delivery_records_once(
    celery_worker,
):
    alice = api_client(staff_alice())
    key = alice.post(
        "/api/v1/services/", data=SCANNER_YAML.encode(), content_type="application/yaml"
    ).json()["ingest_key"]
    push(api_client(), key, [45.0] * 10, end=timezone.now())
    first = evaluate_slos.delay().get(timeout=30)
    second = evaluate_slos.delay().get(timeout=30)
    assert (first["changes"], second["changes"]) == (1, 0)
    assert status(alice)["slo_state"] == "breached"
    assert SLOStateChange.objects.count() == 1
