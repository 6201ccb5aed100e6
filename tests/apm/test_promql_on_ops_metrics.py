"""With the ``prometheus`` metrics store, an APM ``promql`` baseline reads OPS metrics
directly: the seed's "a PromQL snippet already exposed by HMS-OPS".

Samples go in through the OPS ingest API (remote-written to the real Prometheus on
loopback); the baseline's PromQL runs on the same Prometheus (``PROMETHEUS_URL``).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import services
from apm.models import Baseline, Deviation
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.services]
QUERY = 'avg_over_time(queue_time_seconds{service="DCA_Luggage_Scanner"}[5m])'


def test_a_promql_baseline_reads_a_metric_emitted_through_the_ops_ingest_api(
    prometheus_store, settings
):
    settings.PROMETHEUS_URL = prometheus_store.url
    f.make_service("DCA_Luggage_Scanner")
    client = f.api_client(f.staff_alice())
    now = timezone.now()
    samples = [
        {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", "value": value,
         "ts": (now - timedelta(seconds=10 * i)).isoformat()}
        for i, value in enumerate([36.0, 38.0, 40.0, 38.0])
    ]  # fmt: skip
    assert client.post("/api/v1/metrics/", {"samples": samples}, format="json").status_code == 201

    baseline = f.baseline(
        name="scanner_queue_time",
        probe_kind=Baseline.ProbeKind.PROMQL,
        probe_query=QUERY,
        target_value=30,
        compare_op="le",
    )
    assert baseline.probe_verified is True
    deviation = services.run_baseline(baseline, at=now + timedelta(seconds=1))

    assert deviation.actual == pytest.approx(38.0)
    assert deviation.deviation_pct == pytest.approx(100 * 8 / 30)
    assert deviation.status == Deviation.Status.BREACH
    assert deviation.evidence["query"] == QUERY
