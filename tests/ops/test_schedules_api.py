"""``schedules/`` CRUD and ``schedules/{id}/on-call/?at=`` through the API."""

import pytest

from ops.models import AuditEntry, Schedule
from tests.factories import api_client, make_channel, make_user
from tests.ops.oncall_factories import person, three_shifts

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return [person("oncall_alice", slack="U0ALICE01"), person("oncall_bob"), person("oncall_carol")]


def test_admin_creates_a_rotation_and_asks_who_is_on_call(admin_client_token, people):
    override = {
        "user": "oncall_bob",
        "starts_at": "2026-12-02T02:00:00-05:00",
        "ends_at": "2026-12-02T04:00:00-05:00",
        "note": "carol's dentist",
    }
    body = {
        "name": "tsa-primary",
        "timezone": "America/New_York",
        "shift_hours": 8,
        "handoff": "07:00",
        "starts_on": "2026-12-01",
        "participants": ["oncall_alice", "oncall_bob", "oncall_carol"],
        "overrides": [override],
    }
    made = admin_client_token.post("/api/v1/schedules/", body, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["participants"] == ["oncall_alice", "oncall_bob", "oncall_carol"]
    url = f"/api/v1/schedules/{made.json()['id']}/on-call/"

    at_11 = admin_client_token.get(url, {"at": "2026-12-02T11:00:00-05:00"}).json()
    assert at_11 == {
        "schedule": "tsa-primary", "at": "2026-12-02T16:00:00+00:00", "user": "oncall_alice",
        "source": "rotation", "since": "2026-12-02T07:00:00-05:00",
        "until": "2026-12-02T15:00:00-05:00", "via": "slack",
    }  # fmt: skip
    at_03 = admin_client_token.get(url, {"at": "2026-12-02T03:00:00-05:00"}).json()
    assert (at_03["user"], at_03["source"], at_03["via"]) == ("oncall_bob", "override", "email")
    at_05 = admin_client_token.get(url, {"at": "2026-12-02T05:00:00-05:00"}).json()
    assert at_05["user"] == "oncall_carol"

    changed = admin_client_token.patch(
        f"/api/v1/schedules/{made.json()['id']}/",
        {"participants": ["oncall_carol", "oncall_alice"], "overrides": []},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["participants"] == ["oncall_carol", "oncall_alice"]
    assert changed.json()["overrides"] == []
    changes = list(
        AuditEntry.objects.filter(topic="ops.schedule").values_list("payload__change", flat=True)
    )
    assert changes == ["created", "override added", "updated", "override removed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"shift_hours": 0}, "shift_hours"),
        ({"shift_hours": 169}, "shift_hours"),
        ({"handoff": "25:00"}, "handoff"),
        ({"participants": ["nobody"]}, "participants"),
        ({"participants": ["oncall_alice", "oncall_alice"]}, "participants"),
        ({"name": "two words"}, "name"),
        (
            {
                "overrides": [
                    {
                        "user": "oncall_bob",
                        "starts_at": "2026-12-02T04:00:00Z",
                        "ends_at": "2026-12-02T02:00:00Z",
                    }
                ]
            },
            "overrides",
        ),
    ],
)
def test_bad_schedules_are_a_400_naming_the_field(admin_client_token, people, body, field):
    answer = admin_client_token.post(
        "/api/v1/schedules/", {"name": "tsa-primary", **body}, format="json"
    )
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Schedule.objects.exists()


def test_a_bad_at_is_a_400_naming_it(admin_client_token):
    schedule, _people = three_shifts()
    answer = admin_client_token.get(f"/api/v1/schedules/{schedule.pk}/on-call/", {"at": "soon"})
    assert answer.status_code == 400 and "at" in answer.json()


def test_staff_read_schedules_but_only_admins_change_them(admin_client_token):
    schedule, _people = three_shifts()
    staff = api_client(make_user("staff_sam", staff=True))
    assert staff.get("/api/v1/schedules/").status_code == 200
    assert staff.get(f"/api/v1/schedules/{schedule.pk}/on-call/").status_code == 200
    assert (
        staff.patch(
            f"/api/v1/schedules/{schedule.pk}/", {"shift_hours": 12}, format="json"
        ).status_code
        == 403
    )
    make_channel("tsa_ops", "oncall", "tsa-primary")
    assert admin_client_token.delete(f"/api/v1/schedules/{schedule.pk}/").status_code == 409


def test_schedule_list_query_count_does_not_grow(admin_client_token, django_assert_max_num_queries):
    for n in range(5):
        three_shifts(name=f"rota-{n}") if n == 0 else Schedule.objects.create(name=f"rota-{n}")
    with django_assert_max_num_queries(8):
        assert admin_client_token.get("/api/v1/schedules/").json()["count"] == 5
