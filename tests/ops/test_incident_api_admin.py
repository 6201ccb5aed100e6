"""Incidents in the API (list, filter, resolve) and the admin (read-only, "resolve")."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ops.models import ActionRun, Incident
from ops.services import register_service
from tests.factories import SCANNER_YAML, api_client, make_user, readings, service_yaml, tsa_ops
from tests.support.handoff import evaluate


@pytest.fixture
def viewer_bob(db):
    return make_user("viewer_bob", perms=("ops.view_incident",))


@pytest.fixture
def staff_alice(db):
    return make_user("staff_alice", perms=("ops.view_incident", "ops.change_incident"))


@pytest.fixture
def outsider_carol(db):
    return make_user("outsider_carol")


def open_incidents(*service_ids, at=None):
    at = at or timezone.now()
    tsa_ops()
    for service_id in service_ids:
        text = SCANNER_YAML.replace("DCA_Luggage_Scanner", service_id)
        register_service(text)
        readings(service_id, [38.0] * 10, end=at)
    evaluate(at)
    return {i.service_id: i for i in Incident.objects.all()}


def test_viewer_lists_incidents_with_their_actions_filtered_by_service_and_state(viewer_bob):
    incidents = open_incidents("DCA_Luggage_Scanner", "IAD_Luggage_Scanner")
    client = api_client(viewer_bob)
    body = client.get("/api/v1/incidents/", {"service": "IAD_Luggage_Scanner"}).json()
    [row] = body["results"]
    assert row["id"] == incidents["IAD_Luggage_Scanner"].pk
    assert row["state"] == "open" and row["resolved_at"] is None
    assert [(a["step"], a["action"], a["status"]) for a in row["actions"]] == [
        (0, "scale_up", "pending"),
        (1, "page", "pending"),
        (2, "log_to", "pending"),
    ]
    assert client.get("/api/v1/incidents/", {"state": "resolved"}).json()["count"] == 0


def test_bad_state_filter_is_a_400_naming_the_field(viewer_bob):
    response = api_client(viewer_bob).get("/api/v1/incidents/", {"state": "sideways"})
    assert response.status_code == 400
    assert "state" in response.json()


def test_listing_costs_the_same_queries_for_more_incidents(viewer_bob, django_assert_num_queries):
    open_incidents(*(f"SVC_{n}" for n in range(6)))
    client = api_client(viewer_bob)
    # token, user perms, group perms, count, page, action runs prefetch
    with django_assert_num_queries(6):
        response = client.get("/api/v1/incidents/")
    assert response.json()["count"] == 6


def test_resolve_by_api_skips_pending_actions_and_shows_in_the_status(staff_alice, viewer_bob):
    incident = open_incidents("DCA_Luggage_Scanner")["DCA_Luggage_Scanner"]
    bob = api_client(viewer_bob)
    status = bob.get("/api/v1/services/DCA_Luggage_Scanner/status/").json()
    assert status["open_incident"]["id"] == incident.pk
    assert bob.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 403
    response = api_client(staff_alice).post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert response.status_code == 200
    assert response.json()["state"] == "resolved"
    assert response.json()["resolved_by"] == "staff_alice"
    assert set(ActionRun.objects.values_list("status", flat=True)) == {"skipped"}
    status = bob.get("/api/v1/services/DCA_Luggage_Scanner/status/").json()
    assert status["open_incident"] is None


def test_incidents_are_hidden_from_outsiders_and_read_only(outsider_carol, admin_client_token):
    assert api_client(outsider_carol).get("/api/v1/incidents/").status_code == 403
    assert admin_client_token.post("/api/v1/incidents/", {}).status_code == 405


def test_admin_shows_action_runs_inline_and_resolves_only_open_incidents(admin_client):
    at = timezone.now() - timedelta(minutes=30)
    incident = open_incidents("DCA_Luggage_Scanner", at=at)["DCA_Luggage_Scanner"]
    page = admin_client.get(reverse("admin:ops_incident_change", args=[incident.pk]))
    assert page.status_code == 200
    assert "scale_up" in page.content.decode() and "still_breach_after" in page.content.decode()
    assert admin_client.get(reverse("admin:ops_incident_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:ops_incident_changelist"),
        {"action": "resolve", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert "1 incident(s) resolved." in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == "resolved"
    again = admin_client.post(
        reverse("admin:ops_incident_changelist"),
        {"action": "resolve", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert "1 skipped: already resolved." in again.content.decode()


def test_registration_rejects_min_replicas_above_max(staff_alice):
    text = service_yaml() + "kubernetes:\n  min_replicas: 5\n  max_replicas: 2\n"
    client = api_client(make_user("ops_erin", perms=("ops.add_service",)))
    response = client.post("/api/v1/services/", data=text.encode(), content_type="application/yaml")
    assert response.status_code == 400
    assert "kubernetes.min_replicas" in response.json()
