"""The real services the suite relies on: a Celery worker on Redis, and Prometheus."""

import pytest

from ops.models import WorkerHeartbeat
from tests.support.history import EVAL_TIME


@pytest.mark.services
def test_task_round_trip_through_redis(celery_worker):
    from ops.tasks import record_heartbeat

    result = record_heartbeat.delay()
    beat_at = result.get(timeout=20)
    heartbeat = WorkerHeartbeat.objects.get(name="worker")
    assert heartbeat.beat_at.isoformat() == beat_at


@pytest.mark.services
def test_private_prometheus_answers_promql_with_the_backfilled_value(prometheus):
    response = prometheus.query(
        "rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])", EVAL_TIME
    )
    assert response.status_code == 200
    result = response.json()["data"]["result"]
    assert len(result) == 1
    assert float(result[0]["value"][1]) == pytest.approx(37.2)


@pytest.mark.services
def test_private_prometheus_refuses_the_seeds_invalid_promql(prometheus):
    response = prometheus.query("rate(housing_wait_days_sum / housing_wait_count [7d])", EVAL_TIME)
    assert response.status_code == 400
    assert "parse error" in response.json()["error"]
