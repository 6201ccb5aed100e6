"""``maintenance-windows/`` through the API: scoped like the other APM rows, audited,
exactly one scope, clear 400s naming the field (docs/VERDICTS.md)."""

import pytest

from apm.models import MaintenanceWindow
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/maintenance-windows/"
SPAN = {"starts_at": "2027-01-10T02:00:00Z", "ends_at": "2027-01-10T04:00:00Z"}


@pytest.fixture
def housing(staff_alice):
    return f.program(code="FTHV", owner_group=staff_alice.groups.get())


def test_staff_silence_their_program_and_the_change_is_audited(api, staff_alice, housing):
    made = api(staff_alice).post(
        URL, {"program": housing.pk, "reason": "ledger migration", **SPAN}, format="json"
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["program"], body["baseline"], body["service"]) == (housing.pk, None, None)
    assert body["created_by"] == "staff_alice" and body["recurrence"] == ""
    entry = AuditEntry.objects.get(topic="apm.maintenance")
    assert entry.payload["change"] == "created" and entry.actor == "staff_alice"
    changed = api(staff_alice).patch(f"{URL}{body['id']}/", {"recurrence": "weekly"}, format="json")
    assert changed.status_code == 200 and changed.json()["recurrence"] == "weekly"
    assert api(staff_alice).delete(f"{URL}{body['id']}/").status_code == 204
    assert list(
        AuditEntry.objects.filter(topic="apm.maintenance").values_list("payload__change", flat=True)
    ) == ["created", "changed", "deleted"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, "program"),  # no scope at all
        ({"baseline": "BASELINE"}, "program"),  # two scopes
        ({"ends_at": "2027-01-10T01:00:00Z"}, "ends_at"),  # ends before it starts
        ({"ends_at": "2027-01-10T04:00:00"}, "ends_at"),  # no time zone
        ({"recurrence": "daily"}, "recurrence"),
        ({"reason": ""}, "reason"),
        ({"starts_at": "not a time"}, "starts_at"),
    ],
)
def test_bad_windows_are_a_400_naming_the_field(api, staff_alice, housing, extra, field):
    baseline = f.baseline(housing)
    payload = {"reason": "x", **SPAN, **extra}
    if extra != {}:
        payload.setdefault("program", housing.pk)
    if payload.get("baseline") == "BASELINE":
        payload["baseline"] = baseline.pk
    answer = api(staff_alice).post(URL, payload, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()
    assert not MaintenanceWindow.objects.exists()
    assert not AuditEntry.objects.filter(topic="apm.maintenance").exists()


def test_other_programs_windows_are_404_and_writing_them_403(
    api, staff_alice, staff_dave, viewer_bob, outsider_carol, housing
):
    window = (
        api(staff_alice)
        .post(URL, {"program": housing.pk, "reason": "x", **SPAN}, format="json")
        .json()
    )
    assert api(staff_dave).get(URL).json()["results"] == []
    assert api(staff_dave).get(f"{URL}{window['id']}/").status_code == 404
    assert api(staff_dave).delete(f"{URL}{window['id']}/").status_code == 404
    # A program dave cannot see does not exist for him.
    made = api(staff_dave).post(URL, {"program": housing.pk, "reason": "x", **SPAN})
    assert made.status_code == 400 and "program" in made.json()
    # The viewer reads everything and writes nothing; an outsider sees nothing.
    assert api(viewer_bob).get(f"{URL}{window['id']}/").status_code == 200
    assert api(viewer_bob).delete(f"{URL}{window['id']}/").status_code == 403
    assert api(outsider_carol).get(URL).json()["results"] == []
    assert MaintenanceWindow.objects.count() == 1


def test_a_service_window_takes_the_silence_permission(api, staff_alice, admin_user):
    service = f.make_service("DCA_Luggage_Scanner").service
    payload = {"service": service.pk, "reason": "firmware", **SPAN}
    assert api(staff_alice).post(URL, payload, format="json").status_code == 403
    made = api(admin_user).post(URL, payload, format="json")
    assert made.status_code == 201 and made.json()["service"] == service.pk
    assert api(staff_alice).get(URL).json()["results"] == []


def test_deviations_show_their_data_quality_and_filter_on_maintenance(api, staff_alice, housing):
    from apm import services

    baseline = f.baseline(housing, probe_query="SELECT 37.2")
    services.run_baseline(baseline)
    [row] = api(staff_alice).get("/api/v1/deviations/?in_maintenance=false").json()["results"]
    assert (row["sample_count"], row["in_maintenance"], row["completeness"]) == (1, False, None)
    assert row["source"].startswith("sql: 1 row(s)")
    assert api(staff_alice).get("/api/v1/deviations/?in_maintenance=true").json()["results"] == []
    listed = api(staff_alice).get(f"/api/v1/baselines/{baseline.pk}/").json()
    assert listed["min_samples"] == 1
