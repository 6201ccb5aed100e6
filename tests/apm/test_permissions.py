"""Who sees and edits programs, baselines and deviations (API; the admin asks the same queryset)."""

import pytest

from apm import services
from apm.models import Baseline, Deviation, Program
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def housing(housing_staff):
    program = f.program(code="fast-track-housing", owner_group=housing_staff)
    baseline = f.baseline(program, name="avg_wait_days")
    services.run_baseline(baseline)
    return program


def test_staff_of_the_owner_group_reads_and_edits_their_program(api, staff_alice, housing):
    client = api(staff_alice)
    assert [p["code"] for p in client.get("/api/v1/programs/").json()["results"]] == [
        "fast-track-housing"
    ]
    response = client.patch(f"/api/v1/programs/{housing.pk}/", {"name": "Fast-Track Voucher"})
    assert response.status_code == 200
    baseline = housing.baselines.get()
    assert (
        client.patch(f"/api/v1/baselines/{baseline.pk}/", {"threshold_pct": 10}).status_code == 200
    )
    assert client.post(f"/api/v1/baselines/{baseline.pk}/run/").status_code == 201


def test_staff_of_another_group_cannot_see_the_program(api, staff_dave, housing):
    client = api(staff_dave)
    baseline = housing.baselines.get()
    assert client.get("/api/v1/programs/").json()["results"] == []
    assert client.get("/api/v1/baselines/").json()["results"] == []
    assert client.get("/api/v1/deviations/").json()["results"] == []
    assert client.get(f"/api/v1/programs/{housing.pk}/").status_code == 404
    assert client.patch(f"/api/v1/baselines/{baseline.pk}/", {"active": False}).status_code == 404
    assert client.post(f"/api/v1/baselines/{baseline.pk}/run/").status_code == 404
    # and cannot attach a baseline to it
    payload = {"program": housing.pk, "name": "x", "target_value": 1, "probe_kind": "sql"}
    response = client.post("/api/v1/baselines/", {**payload, "probe_query": "SELECT 1"})
    assert response.status_code == 400
    assert "does not exist" in response.json()["program"][0]
    assert Baseline.objects.count() == 1


def test_staff_may_only_create_programs_owned_by_their_own_group(api, staff_dave, housing_staff):
    client = api(staff_dave)
    payload = {"code": "transit", "name": "Transit", "authority": "Transit Act §1"}
    refused = client.post("/api/v1/programs/", {**payload, "owner_group": housing_staff.name})
    assert refused.status_code == 403
    created = client.post("/api/v1/programs/", {**payload, "owner_group": "Transit staff"})
    assert created.status_code == 201
    assert Program.objects.get(code="transit").owner_group.name == "Transit staff"


def test_viewers_read_everything_but_change_nothing(api, viewer_bob, housing):
    client = api(viewer_bob)
    baseline = housing.baselines.get()
    assert len(client.get("/api/v1/programs/").json()["results"]) == 1
    assert len(client.get("/api/v1/baselines/").json()["results"]) == 1
    assert len(client.get("/api/v1/deviations/").json()["results"]) == 1
    assert client.get(f"/api/v1/baselines/{baseline.pk}/").status_code == 200
    assert client.patch(f"/api/v1/programs/{housing.pk}/", {"name": "x"}).status_code == 403
    assert client.post(f"/api/v1/baselines/{baseline.pk}/run/").status_code == 403
    assert client.delete(f"/api/v1/baselines/{baseline.pk}/").status_code == 403
    assert Deviation.objects.count() == 1


def test_outsiders_see_nothing_and_write_nothing(api, outsider_carol, housing):
    client = api(outsider_carol)
    baseline = housing.baselines.get()
    assert client.get("/api/v1/programs/").json()["results"] == []
    assert client.get(f"/api/v1/baselines/{baseline.pk}/").status_code == 404
    payload = {"code": "mine", "name": "Mine", "authority": "none"}
    assert client.post("/api/v1/programs/", payload).status_code == 403


def test_anonymous_requests_are_refused(client, housing):
    assert client.get("/api/v1/programs/").status_code in (401, 403)


def test_superusers_edit_every_program(api, admin_user, housing):
    client = api(admin_user)
    response = client.patch(f"/api/v1/programs/{housing.pk}/", {"public": True})
    assert response.status_code == 200
    assert Program.objects.get(pk=housing.pk).public is True


def test_scoping_is_one_queryset_method_shared_by_api_and_admin(
    staff_alice, staff_dave, viewer_bob, outsider_carol, housing
):
    assert list(Program.objects.visible_to(staff_alice)) == [housing]
    assert list(Program.objects.editable_by(staff_alice)) == [housing]
    assert list(Program.objects.visible_to(viewer_bob)) == [housing]
    assert list(Program.objects.editable_by(viewer_bob)) == []
    assert list(Baseline.objects.visible_to(staff_dave)) == []
    assert list(Deviation.objects.visible_to(outsider_carol)) == []


def test_sql_probes_need_the_use_sql_probe_permission(api, staff_dave, settings):
    settings.PROMETHEUS_URL = None
    transit = f.program(code="transit", owner_group=staff_dave.groups.get())
    payload = {"program": transit.pk, "name": "late_buses", "target_value": 5}
    client = api(staff_dave)

    refused = client.post("/api/v1/baselines/", {**payload, "probe_kind": "sql",
                                                 "probe_query": "SELECT 1"})  # fmt: skip
    assert refused.status_code == 403
    assert "apm.use_sql_probe" in refused.json()["detail"]
    assert not Baseline.objects.exists()

    promql = client.post("/api/v1/baselines/", {**payload, "probe_query": "up"})
    assert promql.status_code == 201


def test_editing_the_schedule_of_an_existing_sql_probe_needs_no_sql_permission(api, staff_dave):
    transit = f.program(code="transit", owner_group=staff_dave.groups.get())
    baseline = f.baseline(transit, probe_query="SELECT 3")  # written by an admin
    client = api(staff_dave)
    url = f"/api/v1/baselines/{baseline.pk}/"
    assert client.patch(url, {"schedule": "0 5 * * *"}).status_code == 200
    assert client.patch(url, {"probe_query": "SELECT 4"}).status_code == 403
    baseline.refresh_from_db()
    assert (baseline.schedule, baseline.probe_query) == ("0 5 * * *", "SELECT 3")
