"""Ingest is rate limited per service key: a flood gets 429 + Retry-After and stores nothing."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from ops.api.throttles import IngestRateThrottle
from ops.models import Sample
from tests.factories import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_per_minute(monkeypatch):
    cache.clear()
    monkeypatch.setattr(IngestRateThrottle, "THROTTLE_RATES", {"ingest": "2/min"})
    yield
    cache.clear()


def key_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_service_over_its_rate_gets_429_and_nothing_is_stored(two_per_minute):
    scanner = make_service("DCA_Luggage_Scanner").ingest_key
    other = make_service("Other_Service").ingest_key
    sample = {"name": "queue_time_seconds", "value": 12}
    for _ in range(2):
        assert (
            key_client(scanner).post("/api/v1/metrics/", sample, format="json").status_code == 201
        )
    refused = key_client(scanner).post("/api/v1/metrics/", sample, format="json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Sample.objects.count() == 2
    # another service's key has its own budget
    assert key_client(other).post("/api/v1/metrics/", sample, format="json").status_code == 201
