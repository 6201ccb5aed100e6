"""GET /api/v1/services/{id}/status/ (as API.md) and GET /api/v1/series/ (points for graphs)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import api_client, make_service, readings, viewer_bob
from tests.support.handoff import evaluate

pytestmark = pytest.mark.django_db


def test_status_has_the_api_md_fields():
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [40.0] * 10, end=now)
    evaluate(now)
    response = api_client(viewer_bob()).get("/api/v1/services/DCA_Luggage_Scanner/status/")
    assert response.status_code == 200
    body = response.json()
    assert body["slo_state"] == "breached"
    assert body["value"] == 40.0
    assert body["threshold"] == 30.0
    assert body["window_seconds"] == 300
    assert body["since"] == now.isoformat().replace("+00:00", "Z")
    # the breach opened an incident (this service has no playbook: no actions)
    assert body["open_incident"]["condition"] == "slo_breach"
    assert body["open_incident"]["actions"] == []


def test_status_of_a_new_service_is_no_data_and_unknown_service_is_404():
    make_service()
    client = api_client(viewer_bob())
    assert client.get("/api/v1/services/DCA_Luggage_Scanner/status/").json()["slo_state"] == (
        "no_data"
    )
    assert client.get("/api/v1/services/Nope/status/").status_code == 404


def test_series_returns_points_per_label_set_in_time_order(django_assert_num_queries):
    make_service()
    now = timezone.now()
    readings("DCA_Luggage_Scanner", [1.0, 2.0, 3.0], end=now)
    readings("DCA_Luggage_Scanner", [9.0], end=now - timedelta(hours=2))  # before `since`
    client = api_client(viewer_bob())
    with django_assert_num_queries(3):  # token+user, points, series labels
        response = client.get(
            "/api/v1/series/", {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds"}
        )
    body = response.json()
    assert response.status_code == 200
    assert body["truncated"] is False
    assert [p[1] for p in body["series"][0]["points"]] == [1.0, 2.0, 3.0]
    since = (now - timedelta(hours=3)).isoformat()
    wider = client.get(
        "/api/v1/series/",
        {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", "since": since},
    ).json()
    assert [p[1] for p in wider["series"][0]["points"]] == [9.0, 1.0, 2.0, 3.0]


def test_series_needs_service_and_name_and_a_valid_since():
    client = api_client(viewer_bob())
    response = client.get("/api/v1/series/", {"since": "last tuesday"})
    assert response.status_code == 400
    assert set(response.json()) == {"service", "name", "since"}


def test_empty_since_and_until_mean_the_default_window():
    make_service()
    readings("DCA_Luggage_Scanner", [7.0])
    body = (
        api_client(viewer_bob())
        .get(
            "/api/v1/series/",
            {
                "service": "DCA_Luggage_Scanner",
                "name": "queue_time_seconds",
                "since": "",
                "until": "",
            },
        )
        .json()
    )
    assert body["since"] is not None and body["until"] is not None
    assert [p[1] for p in body["series"][0]["points"]] == [7.0]


def test_a_time_offset_postgresql_cannot_store_is_compared_in_utc():
    make_service()
    response = api_client(viewer_bob()).get(
        "/api/v1/series/",
        {
            "service": "DCA_Luggage_Scanner",
            "name": "queue_time_seconds",
            "until": "2030-01-01T00:00:00+20:00",
        },
    )
    assert response.status_code == 200
    assert response.json()["until"] == "2029-12-31T04:00:00Z"
