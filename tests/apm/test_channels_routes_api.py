"""``channels/`` and ``routes/`` through the API, and a route made only that way delivering.

Done-when of issue 16: a channel and a route created only through the API
route a new escalation to a Teams peer and a Mattermost peer (loopback), each
receiving one well-formed message; another program's staff get 403/404.
"""

from datetime import timedelta

import pytest

from apm import services
from apm.models import EscalationRoute
from ops.models import AuditEntry, Channel, Notification
from tests import factories as f
from tests.support.chat_webhooks import FakeMattermost, FakeTeams
from tests.support.services import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def housing(staff_alice):
    return f.program(code="FTHV", owner_group=staff_alice.groups.get())


@pytest.mark.services
def test_api_made_channels_and_routes_deliver_to_teams_and_mattermost(
    apm_worker, admin_client_token, api, staff_alice, staff_dave, housing, monkeypatch
):
    with FakeTeams() as teams, FakeMattermost() as mattermost:
        monkeypatch.setenv("HMS_MATTERMOST_URL", mattermost.url)
        made = admin_client_token.post(
            "/api/v1/channels/",
            {"name": "leaders-teams", "kind": "teams", "target": teams.url},
            format="json",
        )
        assert made.status_code == 201, made.json()
        made = admin_client_token.post(
            "/api/v1/channels/",
            {
                "name": "ops-mm",
                "kind": "mattermost",
                "target": "town-square",
                "secret_env": "HMS_MATTERMOST_URL",
            },
            format="json",
        )
        assert made.status_code == 201, made.json()
        assert mattermost.url not in made.content.decode()

        alice = api(staff_alice)
        route_ids = []
        for name in ("leaders-teams", "ops-mm"):
            made = alice.post(
                "/api/v1/routes/",
                {
                    "program": housing.pk,
                    "channel": name,
                    "min_level": "warning",
                    "remind_every": "1d",
                    "max_reminders": 3,
                },
                format="json",
            )
            assert made.status_code == 201, made.json()
            assert made.json()["remind_every"] == "1 00:00:00"
            route_ids.append(made.json()["id"])

        services.run_baseline(f.baseline(housing, name="avg_wait_days", probe_query="SELECT 41.7"))
        wait_until(lambda: teams.messages and mattermost.messages, timeout=30, what="both peers")
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists(),
            timeout=30,
            what="every notification to settle",
        )

    assert len(teams.messages) == 1 and teams.rejected == []
    [card] = teams.messages[0]["attachments"]
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["body"][0]["text"] == "[CRITICAL] FTHV / avg_wait_days"
    assert len(mattermost.messages) == 1 and mattermost.rejected == []
    assert mattermost.messages[0]["channel"] == "town-square"
    assert mattermost.messages[0]["text"].startswith("**[CRITICAL] FTHV / avg_wait_days**\n")

    dave = api(staff_dave)
    assert dave.get("/api/v1/routes/").json()["results"] == []
    for route_id in route_ids:
        url = f"/api/v1/routes/{route_id}/"
        assert dave.get(url).status_code == 404
        assert dave.patch(url, {"active": False}, format="json").status_code == 404
        assert dave.delete(url).status_code == 404
    spare = {"name": "spare", "kind": "slack", "target": "#spare"}
    assert admin_client_token.post("/api/v1/channels/", spare, format="json").status_code == 201
    other = dave.post("/api/v1/routes/", {"program": housing.pk, "channel": "spare"}, format="json")
    assert other.status_code == 403
    assert EscalationRoute.objects.filter(active=True).count() == 2


def test_channel_changes_need_an_admin_and_are_audited(admin_client_token, api, staff_alice):
    body = {"name": "kpi-alerts", "kind": "slack", "target": "#kpi-alerts"}
    assert api(staff_alice).post("/api/v1/channels/", body, format="json").status_code == 403
    assert api(staff_alice).get("/api/v1/channels/").status_code == 403

    made = admin_client_token.post("/api/v1/channels/", body, format="json")
    assert made.status_code == 201
    url = f"/api/v1/channels/{made.json()['id']}/"
    assert admin_client_token.patch(url, {"enabled": False}, format="json").status_code == 200
    listed = admin_client_token.get("/api/v1/channels/", {"kind": "slack", "enabled": False})
    assert [c["name"] for c in listed.json()["results"]] == ["kpi-alerts"]
    assert admin_client_token.delete(url).status_code == 204
    changes = AuditEntry.objects.filter(topic="ops.channel").values_list(
        "payload__change", flat=True
    )
    assert list(changes) == ["created", "updated", "deleted"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name!", "kind": "slack", "target": "#x"}, "name"),
        ({"name": "x", "kind": "carrier-pigeon", "target": "#x"}, "kind"),
        ({"name": "x", "kind": "slack", "target": "Not A Channel"}, "target"),
        ({"name": "x", "kind": "teams", "target": "not-a-url"}, "target"),
        ({"name": "x", "kind": "webhook", "target": "https://example.org/h"}, "secret_env"),
        ({"name": "x", "kind": "oncall", "target": "no-such-schedule"}, "target"),
    ],
)
def test_bad_channels_are_400_naming_the_field(admin_client_token, body, field):
    answer = admin_client_token.post("/api/v1/channels/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Channel.objects.exists()


def test_a_channel_in_use_is_a_409_not_a_500(admin_client_token, housing):
    channel = Channel.objects.create(name="kpi-alerts", kind="slack", target="#kpi-alerts")
    EscalationRoute.objects.create(program=housing, channel=channel)
    answer = admin_client_token.delete(f"/api/v1/channels/{channel.pk}/")
    assert answer.status_code == 409
    assert Channel.objects.filter(pk=channel.pk).exists()


def test_routes_are_validated_like_the_admin_and_audited(api, staff_alice, housing):
    for name in ("kpi-alerts", "c1", "c2", "c3", "c4"):
        Channel.objects.create(name=name, kind="slack", target=f"#{name}")
    alice = api(staff_alice)
    body = {"program": housing.pk, "channel": "kpi-alerts", "remind_every": "30m"}
    made = alice.post("/api/v1/routes/", body, format="json")
    assert made.status_code == 201
    assert alice.post("/api/v1/routes/", body, format="json").status_code == 400  # twin
    bad = alice.post(
        "/api/v1/routes/", {**body, "channel": "c1", "remind_every": "10 seconds"}, format="json"
    )
    assert bad.status_code == 400 and "remind_every" in bad.json()
    tiny = alice.post(
        "/api/v1/routes/", {**body, "channel": "c2", "remind_every": "00:00:30"}, format="json"
    )
    assert tiny.status_code == 400 and "remind_every" in tiny.json()
    nowhere = alice.post("/api/v1/routes/", {**body, "channel": "nope"}, format="json")
    assert nowhere.status_code == 400 and "channel" in nowhere.json()
    negative = alice.post(
        "/api/v1/routes/", {**body, "channel": "c3", "max_reminders": -1}, format="json"
    )
    assert negative.status_code == 400 and "max_reminders" in negative.json()
    # every program is an admin's
    everyone = alice.post(
        "/api/v1/routes/", {**body, "channel": "c4", "program": None}, format="json"
    )
    assert everyone.status_code == 403
    route = EscalationRoute.objects.get()
    assert route.remind_every == timedelta(minutes=30)
    entry = AuditEntry.objects.filter(topic="apm.config", payload__model="escalationroute").get()
    assert entry.actor == "staff_alice"
    listed = alice.get("/api/v1/routes/", {"channel": "kpi-alerts", "program": housing.pk})
    assert [r["id"] for r in listed.json()["results"]] == [route.pk]


def test_route_list_query_count_does_not_grow(
    api, staff_alice, housing, django_assert_max_num_queries
):
    alice = api(staff_alice)
    for n in range(6):
        channel = Channel.objects.create(name=f"c{n}", kind="slack", target=f"#c{n}")
        EscalationRoute.objects.create(program=housing, channel=channel)
    with django_assert_max_num_queries(6):
        assert len(alice.get("/api/v1/routes/").json()["results"]) == 6


def test_the_schema_documents_channels_routes_and_snooze(admin_client_token):
    schema = admin_client_token.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/v1/channels/" in paths and "/api/v1/routes/{id}/" in paths
    assert "/api/v1/escalations/{id}/snooze/" in paths
