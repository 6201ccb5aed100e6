"""The admin leads to the pages: baseline/deviation → "why is it red", service → war room."""

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_baseline_and_its_deviations_link_to_the_baseline_page(ada_client):
    wait = f.ledger_baseline(f.program(owner_group=None), name="housing_wait_days")
    deviation = f.deviation(wait, 21)
    for url in (
        f"/admin/apm/baseline/{wait.pk}/change/",
        f"/admin/apm/deviation/{deviation.pk}/change/",
    ):
        html = ada_client.get(url).content.decode()
        assert f'href="/dashboard/baselines/{wait.pk}/" class="viewsitelink"' in html


def test_services_are_filtered_by_owner_and_state_and_link_to_the_war_room(ada_client):
    f.make_service("TSA_Scanner", owner="TSA")
    f.make_service("FAA_Radar", owner="FAA")
    html = ada_client.get("/admin/ops/service/", {"owner": "FAA"}).content.decode()
    assert "FAA_Radar" in html and "TSA_Scanner" not in html
    html = ada_client.get("/admin/ops/service/", {"slos__state": "breached"}).content.decode()
    assert "FAA_Radar" not in html and "TSA_Scanner" not in html

    html = ada_client.get("/admin/ops/service/FAA_Radar/change/").content.decode()
    assert 'href="/war-room/?owner=FAA#tile-FAA_Radar" class="viewsitelink"' in html
