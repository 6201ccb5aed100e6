"""Teams (Adaptive Card) and Mattermost (incoming webhook) kinds against loopback peers."""

import pytest

from ops import channels
from ops.channels import ChannelError, Message, registry
from ops.models import Channel
from tests.factories import make_channel
from tests.support.chat_webhooks import FakeMattermost, FakeTeams
from tests.support.http_server import Reply

pytestmark = pytest.mark.django_db


def _message():
    return Message(
        text="avg_wait_days is 41.7, promised ≤ 30", subject="[CRITICAL] FTHV / avg_wait_days",
        marker="hms-notification-9",
    )  # fmt: skip


@pytest.fixture
def teams():
    with FakeTeams() as peer:
        yield peer


@pytest.fixture
def mattermost():
    with FakeMattermost() as peer:
        yield peer


def test_both_kinds_are_registered_one_class_each():
    assert registry.get("teams").__name__ == "TeamsChannel"
    assert registry.get("mattermost").__name__ == "MattermostChannel"


def test_teams_posts_one_adaptive_card_message(teams):
    channel = make_channel("leaders", "teams", teams.url)

    assert channels.send(channel, _message()) == {"status": 202}

    [posted] = teams.messages
    assert posted["type"] == "message"
    [attachment] = posted["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.4")
    texts = [block["text"] for block in content["body"]]
    assert texts == [
        "[CRITICAL] FTHV / avg_wait_days",
        "avg_wait_days is 41.7, promised ≤ 30",
        "hms-notification-9",
    ]
    assert teams.requests[0].path == "/hooks/abc123"


def test_mattermost_posts_text_username_and_the_channel_override(mattermost, monkeypatch):
    monkeypatch.setenv("HMS_MM_HOOK", mattermost.url)
    channel = make_channel("ops-mm", "mattermost", "town-square", secret_env="HMS_MM_HOOK")

    assert channels.send(channel, _message()) == {"status": 200}

    [posted] = mattermost.messages
    assert posted == {
        "text": "**[CRITICAL] FTHV / avg_wait_days**\navg_wait_days is 41.7, promised ≤ 30",
        "username": "hms-monitor",
        "channel": "town-square",
        "props": {"hms_marker": "hms-notification-9"},
    }
    assert mattermost.rejected == []


def test_mattermost_without_override_posts_to_the_hooks_default_channel(mattermost):
    channel = make_channel("ops-mm", "mattermost", mattermost.url)
    channels.send(channel, _message())
    assert "channel" not in mattermost.messages[0]


@pytest.mark.parametrize("peer_class", [FakeTeams, FakeMattermost])
@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_rate_limits_and_server_errors_are_transient(peer_class, status):
    kind = "teams" if peer_class is FakeTeams else "mattermost"
    with peer_class(Reply(status, "slow down", headers={"Retry-After": "7"})) as peer:
        channel = make_channel("chat", kind, peer.url)
        with pytest.raises(ChannelError) as error:
            channels.send(channel, _message())
        assert error.value.permanent is False
        assert error.value.retry_after == 7.0
        assert f"HTTP {status}" in str(error.value)
        assert peer.messages == []
        # the next attempt goes through
        channels.send(channel, _message())
        assert len(peer.messages) == 1


@pytest.mark.parametrize("peer_class", [FakeTeams, FakeMattermost])
@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_are_permanent(peer_class, status):
    kind = "teams" if peer_class is FakeTeams else "mattermost"
    with peer_class(Reply(status, "no such hook")) as peer, pytest.raises(ChannelError) as error:
        channels.send(make_channel("chat", kind, peer.url), _message())
    assert error.value.permanent is True
    assert f"HTTP {status}" in str(error.value)


def test_connection_refused_is_transient():
    from tests.support.services import free_port

    channel = make_channel("chat", "teams", f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(ChannelError) as error:
        channels.send(channel, _message())
    assert error.value.permanent is False


def test_missing_url_variable_is_permanent(monkeypatch):
    monkeypatch.delenv("HMS_TEAMS_HOOK", raising=False)
    channel = make_channel("chat", "teams", "", secret_env="HMS_TEAMS_HOOK")
    with pytest.raises(ChannelError) as error:
        channels.send(channel, _message())
    assert error.value.permanent is True
    assert "HMS_TEAMS_HOOK" in str(error.value)


@pytest.mark.parametrize(
    ("kind", "target", "secret_env", "field"),
    [
        ("teams", "not a url", "", "target"),
        ("teams", "ftp://127.0.0.1/x", "", "target"),
        ("teams", "http://127.0.0.1/x", "HMS_TEAMS_HOOK", "target"),
        ("teams", "", "https://secret-in-the-wrong-field", "secret_env"),
        ("mattermost", "", "", "target"),
        ("mattermost", "Town Square!", "HMS_MM_HOOK", "target"),
    ],
)
def test_bad_configuration_names_the_field(kind, target, secret_env, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        Channel(name="chat", kind=kind, target=target, secret_env=secret_env).full_clean()
    assert field in error.value.message_dict
