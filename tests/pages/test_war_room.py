"""The war room: one tile per service with state word and value, filters, polling JSON."""

import pytest
from django.urls import reverse

from ops import pages
from tests import factories as f
from tests.support.handoff import evaluate

pytestmark = pytest.mark.django_db

WAR_ROOM = "/war-room/"
STATE = "/war-room/state.json"


@pytest.fixture
def viewer_bob(django_user_model):
    return django_user_model.objects.create_user("viewer_bob", "bob@example.org", "pw")


@pytest.fixture
def bob_client(client, viewer_bob):
    client.force_login(viewer_bob)
    return client


def test_anonymous_visitors_are_sent_to_log_in_and_polling_answers_401(client):
    answer = client.get(WAR_ROOM)
    assert answer.status_code == 302
    assert answer.url.startswith(reverse("login"))
    assert client.get(STATE).status_code == 401


def test_each_tile_shows_the_state_word_and_the_value_against_the_threshold(bob_client):
    f.make_service("Hot_Scanner", threshold=30)
    f.make_service("Calm_Scanner", threshold=30)
    f.make_service("Quiet_Scanner", threshold=30)
    f.readings("Hot_Scanner", [50, 60, 70])
    f.readings("Calm_Scanner", [5, 6, 7])
    evaluate()

    html = bob_client.get(WAR_ROOM).content.decode()

    hot = html[html.index('id="tile-Hot_Scanner"') :].split("</section>")[0]
    assert 'class="state state-breached"' in hot and ">breached<" in hot
    assert "69" in hot and "≤ 30" in hot  # p95 of 50, 60, 70 = 69
    calm = html[html.index('id="tile-Calm_Scanner"') :].split("</section>")[0]
    assert ">healthy<" in calm
    quiet = html[html.index('id="tile-Quiet_Scanner"') :].split("</section>")[0]
    assert quiet.count(">no data<") == 3  # the service, its SLO and the value
    assert "no_data" not in quiet.replace("state-no_data", "")


def test_polling_shows_a_new_breaching_reading_after_evaluation(bob_client, each_metrics_store):
    """On each metrics store: the value and the graph come from the store's reads."""
    f.make_service("DCA_Luggage_Scanner", threshold=30)
    f.readings("DCA_Luggage_Scanner", [10, 11, 12])
    evaluate()
    before = bob_client.get(STATE).json()["tiles"][0]
    assert before["state"] == "healthy"

    f.readings("DCA_Luggage_Scanner", [90] * 20)
    evaluate()

    after = bob_client.get(STATE).json()["tiles"][0]
    assert after["state"] == "breached"
    assert after["slos"][0]["value"] == pytest.approx(90)
    assert 90 in after["slos"][0]["graph"]["y"]
    assert after["slos"][0]["graph"]["line"] == 30


def test_filters_by_owner_and_state_apply_to_the_page_and_to_polling(bob_client):
    f.make_service("TSA_Hot", owner="TSA", threshold=30)
    f.make_service("TSA_Calm", owner="TSA", threshold=30)
    f.make_service("FAA_Hot", owner="FAA", threshold=30)
    for hot in ("TSA_Hot", "FAA_Hot"):
        f.readings(hot, [99, 99])
    f.readings("TSA_Calm", [1, 1])
    evaluate()

    query = {"owner": "TSA", "slo_state": "breached"}
    html = bob_client.get(WAR_ROOM, query).content.decode()
    assert 'id="tile-TSA_Hot"' in html
    assert 'id="tile-TSA_Calm"' not in html and 'id="tile-FAA_Hot"' not in html
    assert '<option value="TSA" selected>' in html
    assert "state.json?owner=TSA&amp;slo_state=breached" in html

    polled = bob_client.get(STATE, query).json()
    assert [tile["id"] for tile in polled["tiles"]] == ["TSA_Hot"]


@pytest.mark.parametrize("url", [WAR_ROOM, STATE])
def test_query_count_does_not_grow_with_services(bob_client, url, django_assert_num_queries):
    for n in range(3):
        f.make_service(f"Few_{n}")
        f.readings(f"Few_{n}", [1, 2, 3])
    evaluate()
    # session, user, count, services, SLOs, graph, open incidents (+owners); healthy
    # services have no incident, so the incidents' action runs need no query here
    expected = 8 if url == WAR_ROOM else 7
    with django_assert_num_queries(expected):
        assert bob_client.get(url).status_code == 200

    for n in range(27):
        f.make_service(f"Many_{n}")
        f.readings(f"Many_{n}", [1, 2, 3])
    evaluate()
    with django_assert_num_queries(expected):
        answer = bob_client.get(url)
    assert answer.status_code == 200
    assert b"Many_26" in answer.content


def test_a_registered_incident_reader_puts_the_open_incident_on_its_tile(bob_client):
    f.make_service("DCA_Luggage_Scanner")
    f.make_service("LGA_Luggage_Scanner")
    asked = []

    def open_incidents(service_ids):
        asked.append(sorted(service_ids))
        return {
            "DCA_Luggage_Scanner": {
                "title": "Queue time breached",
                "opened_at": "2026-11-23T10:00:00Z",
                "url": "",
                "timeline": [
                    {"at": "10:00:05", "text": "scale_up scanner-pool to 4", "status": "ok"},
                ],
            }
        }

    pages.register_incident_reader(open_incidents)
    try:
        html = bob_client.get(WAR_ROOM).content.decode()
        polled = bob_client.get(STATE).json()
    finally:
        pages.INCIDENT_READERS.remove(open_incidents)

    assert asked == [["DCA_Luggage_Scanner", "LGA_Luggage_Scanner"]] * 2
    dca = html[html.index('id="tile-DCA_Luggage_Scanner"') :].split("</section>")[0]
    assert "Open incident: Queue time breached" in dca and "scale_up scanner-pool to 4" in dca
    lga = html[html.index('id="tile-LGA_Luggage_Scanner"') :].split("</section>")[0]
    assert "Open incident" not in lga
    by_id = {tile["id"]: tile for tile in polled["tiles"]}
    assert by_id["DCA_Luggage_Scanner"]["incident"]["title"] == "Queue time breached"
    assert by_id["LGA_Luggage_Scanner"]["incident"] is None


def test_a_breach_puts_its_real_incident_and_action_timeline_on_the_tile(bob_client):
    from ops.models import Incident

    f.make_service("Hot_Scanner", threshold=30)
    f.readings("Hot_Scanner", [50, 60, 70])
    evaluate()
    incident = Incident.objects.get(service_id="Hot_Scanner")
    incident.actions.create(
        step=0, trigger="slo_breach", action="scale_up", due_at=incident.opened_at
    )
    html = bob_client.get(WAR_ROOM).content.decode()
    tile = html[html.index('id="tile-Hot_Scanner"') :].split("</section>")[0]
    assert "Open incident: <a href=" in tile and ">slo_breach</a>" in tile
    assert "slo_breach: scale_up" in tile
    polled = {t["id"]: t for t in bob_client.get(STATE).json()["tiles"]}
    assert polled["Hot_Scanner"]["incident"]["timeline"][0]["status"] == "pending"


ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}\.\d{3,6}"


def _incident_block(html: str, service_id: str) -> str:
    tile = html[html.index(f'id="tile-{service_id}"') :].split("</section>")[0]
    return tile[tile.index('<div data-role="incident">') + len('<div data-role="incident">') :]


def test_polling_returns_the_incident_block_the_page_renders_with_dry_runs_labelled(
    bob_client, settings
):
    """One renderer: the refresh hands over the server-rendered block, never raw ISO times."""
    import re

    from ops.models import Incident
    from ops.playbook import runner

    settings.KUBE_DRY_RUN = True
    settings.KUBE_API_URL = None
    register = (
        "id: Hot_Scanner\nowner: TSA\nsensors:\n  - name: queue_time_seconds\n"
        "slo:\n  target: queue_time_seconds\n  threshold: 30\n  window_seconds: 300\n"
        "  min_samples: 3\n"  # judged on the three readings below
        "playbook:\n  - if: slo_breach\n    then: scale_up compute=+2\n"
        "  - always:\n    log_to: HMS-DTA\n"
    )
    from ops.services import register_service

    register_service(register)
    f.readings("Hot_Scanner", [50, 60, 70])
    evaluate()
    incident = Incident.objects.get(service_id="Hot_Scanner")
    for run in incident.actions.all():
        runner.execute(run.pk)

    html = bob_client.get(WAR_ROOM).content.decode()
    polled = {t["id"]: t for t in bob_client.get(STATE).json()["tiles"]}["Hot_Scanner"]
    block = _incident_block(html, "Hot_Scanner")
    assert polled["incident_html"].strip() in block  # the same fragment, byte for byte
    assert ">slo_breach</a>" in block and "opened <time" in block and ">just now</time>" in block
    scale = next(li for li in block.split("<li>") if "slo_breach: scale_up" in li)
    assert 'class="state state-succeeded">succeeded<' in scale and ">dry run<" in scale
    log = next(li for li in block.split("<li>") if "always: log_to" in li)
    assert "dry run" not in log
    text = re.sub(r"<[^>]+>", " ", block)
    assert not re.search(ISO, text), text
    assert polled["slos"][0]["value_text"] == "69"


def test_too_few_samples_is_a_grey_insufficient_data_tile_not_red(bob_client):
    f.make_service("Fresh_Scanner", threshold=30, min_samples=None)  # the default, 5
    f.readings("Fresh_Scanner", [77])
    evaluate()
    html = bob_client.get(WAR_ROOM).content.decode()
    fresh = html[html.index('id="tile-Fresh_Scanner"') :].split("</section>")[0]
    assert 'class="state state-insufficient_data"' in fresh and ">insufficient data<" in fresh
    assert "state-breached" not in fresh
    polled = bob_client.get(STATE).json()["tiles"][0]
    assert (polled["state"], polled["slos"][0]["state"]) == ("insufficient_data",) * 2


def test_a_service_in_a_maintenance_window_says_so_on_its_tile(bob_client):
    from datetime import timedelta

    from django.utils import timezone

    from apm.models import MaintenanceWindow

    f.make_service("Quiet_Scanner", threshold=30)
    f.readings("Quiet_Scanner", [77] * 6)
    now = timezone.now()
    MaintenanceWindow.objects.create(
        service_id="Quiet_Scanner",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="scanner firmware",
    )
    evaluate()
    html = bob_client.get(WAR_ROOM).content.decode()
    tile = html[html.index('id="tile-Quiet_Scanner"') :].split("</section>")[0]
    assert ">breached · in maintenance<" in tile
    polled = bob_client.get(STATE).json()["tiles"][0]
    assert polled["in_maintenance"] is True
    assert polled["state_label"] == "breached · in maintenance"
