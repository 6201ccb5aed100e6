"""The schedule admin: a rotation with ordered participants, saved and audited."""

import pytest

from ops.models import AuditEntry, Schedule
from tests.ops.oncall_factories import person, three_shifts

pytestmark = pytest.mark.django_db


def _inline(prefix, rows):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}  # fmt: skip
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def test_admin_creates_a_rotation_with_participants(client, admin_user):
    alice, bob = person("oncall_alice"), person("oncall_bob")
    client.force_login(admin_user)
    data = {"name": "tsa-primary", "timezone": "America/New_York", "shift_hours": "8",
            "handoff": "07:00", "starts_on": "2026-12-01", "description": "",
            **_inline("participants", [{"position": "0", "user": str(bob.pk)},
                                       {"position": "1", "user": str(alice.pk)}]),
            **_inline("overrides", [])}  # fmt: skip
    answer = client.post("/admin/ops/schedule/add/", data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert [u.username for u in schedule.ordered_users()] == ["oncall_bob", "oncall_alice"]
    entry = AuditEntry.objects.filter(topic="ops.schedule").last()
    assert entry.payload["participants"] == ["oncall_bob", "oncall_alice"]


def test_a_bad_time_zone_is_a_form_error(client, admin_user):
    client.force_login(admin_user)
    data = {"name": "tsa-primary", "timezone": "Mars/Olympus", "shift_hours": "8",
            "handoff": "07:00", "starts_on": "2026-12-01",
            **_inline("participants", []), **_inline("overrides", [])}  # fmt: skip
    answer = client.post("/admin/ops/schedule/add/", data)
    assert answer.status_code == 200
    assert "Unknown time zone" in answer.content.decode()
    assert not Schedule.objects.exists()


def test_the_list_says_who_is_on_call_now(client, admin_user):
    three_shifts()
    client.force_login(admin_user)
    page = client.get("/admin/ops/schedule/").content.decode()
    assert "tsa-primary" in page and "rotation, until" in page
