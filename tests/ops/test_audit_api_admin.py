"""Reading and verifying the vault through the API and the admin; neither can change it."""

import pytest
from django.db import connection
from django.urls import reverse

from ops import audit
from ops.models import AuditEntry
from tests.factories import api_client, make_user


@pytest.fixture
def staff_alice(db):
    return make_user("staff_alice", staff=True, perms=("ops.view_auditentry",))


@pytest.fixture
def viewer_bob(db):
    return make_user("viewer_bob", perms=("ops.view_auditentry",))


@pytest.fixture
def outsider_carol(db):
    return make_user("outsider_carol")


@pytest.fixture
def entries(db):
    return [
        audit.record("ops.incident", {"service": "scanner", "state": "open"}, actor="worker"),
        audit.record("apm.escalation", {"escalation": 1, "level": "critical"}),
        audit.record(
            "apm.escalation", {"escalation": 1, "status": "resolved"}, actor="staff_alice"
        ),
    ]


def test_viewer_lists_entries_filtered_by_topic(viewer_bob, entries):
    response = api_client(viewer_bob).get("/api/v1/audit/", {"topic": "apm.escalation"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [entries[1].pk, entries[2].pk]
    assert results[1] == {
        "id": entries[2].pk,
        "topic": "apm.escalation",
        "at": results[1]["at"],
        "actor": "staff_alice",
        "payload": {"escalation": 1, "status": "resolved"},
        "hash": entries[2].hash,
        "prev_hash": entries[1].hash,
    }


def test_since_filter_keeps_entries_at_or_after_the_time(viewer_bob, entries):
    since = entries[1].at.isoformat()
    response = api_client(viewer_bob).get("/api/v1/audit/", {"since": since})
    assert [r["id"] for r in response.json()["results"]] == [entries[1].pk, entries[2].pk]


def test_bad_since_is_a_400_naming_the_field(viewer_bob, entries):
    response = api_client(viewer_bob).get("/api/v1/audit/", {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_listing_costs_the_same_queries_for_many_entries(
    viewer_bob, entries, django_assert_num_queries
):
    client = api_client(viewer_bob)
    for n in range(20):
        audit.record("ops.incident", {"n": n})
    # auth token + user permissions + group permissions, count, page
    with django_assert_num_queries(5):
        response = client.get("/api/v1/audit/")
    assert response.json()["count"] == 23


def test_users_without_the_view_permission_are_refused(outsider_carol, entries, client):
    assert api_client(outsider_carol).get("/api/v1/audit/").status_code == 403
    assert api_client(outsider_carol).get("/api/v1/audit/verify/").status_code == 403
    assert client.get("/api/v1/audit/").status_code in (401, 403)


def test_the_api_has_no_way_to_write(admin_client_token, entries):
    entry = entries[0]
    assert admin_client_token.post("/api/v1/audit/", {"topic": "x"}).status_code == 405
    assert admin_client_token.put(f"/api/v1/audit/{entry.pk}/", {}).status_code == 405
    assert admin_client_token.patch(f"/api/v1/audit/{entry.pk}/", {}).status_code == 405
    assert admin_client_token.delete(f"/api/v1/audit/{entry.pk}/").status_code == 405
    assert AuditEntry.objects.count() == 3
    assert audit.verify().ok


def test_verify_endpoint_reports_ok_then_the_first_broken_entry(staff_alice, entries):
    client = api_client(staff_alice)
    assert client.get("/api/v1/audit/verify/").json() == {"ok": True, "entries": 3}

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET actor = %s WHERE id = %s",
            ["mallory", entries[1].pk],
        )
    body = client.get("/api/v1/audit/verify/").json()
    assert body["ok"] is False
    assert body["entries"] == 2
    assert body["first_broken"]["id"] == entries[1].pk
    assert body["first_broken"]["reason"] == "hash does not match the entry's content"


def test_admin_shows_entries_but_cannot_add_change_or_delete(admin_client, entries):
    entry = entries[0]
    changelist = admin_client.get(reverse("admin:ops_auditentry_changelist"))
    assert changelist.status_code == 200
    assert b"Verify chain" in changelist.content
    assert (
        admin_client.get(reverse("admin:ops_auditentry_change", args=[entry.pk])).status_code == 200
    )
    assert admin_client.get(reverse("admin:ops_auditentry_add")).status_code == 403
    change = admin_client.post(
        reverse("admin:ops_auditentry_change", args=[entry.pk]),
        {"topic": "x", "actor": "mallory", "payload": "{}"},
    )
    assert change.status_code == 403
    delete = admin_client.post(
        reverse("admin:ops_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).actor == "worker"


def test_admin_verify_page_names_the_broken_entry(admin_client, entries):
    url = reverse("admin:ops_auditentry_verify")
    assert b"Chain intact: 3 entries verified." in admin_client.get(url).content
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET topic = %s WHERE id = %s",
            ["ops.quiet", entries[2].pk],
        )
    page = admin_client.get(url).content.decode()
    assert f"Chain broken at entry #{entries[2].pk}" in page
    assert "hash does not match the entry&#x27;s content" in page


def test_admin_verify_page_needs_the_view_permission(client, outsider_carol):
    outsider_carol.is_staff = True
    outsider_carol.save()
    client.force_login(outsider_carol)
    assert client.get(reverse("admin:ops_auditentry_verify")).status_code == 403
