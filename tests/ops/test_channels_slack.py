"""The Slack channel against a local server speaking Slack's Web API, through slack_sdk."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ops import channels
from ops.channels import ChannelError, Message
from ops.models import Channel
from tests.factories import make_channel
from tests.support.http_server import Reply
from tests.support.services import free_port
from tests.support.slack import TOKEN, FakeSlack


@pytest.fixture
def slack(settings):
    with FakeSlack() as server:
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = server.api_url
        yield server


def _message(**extra):
    return Message(text="Queue still high", subject="scanner", marker="hms-notification-1", **extra)


def test_message_is_posted_with_its_marker_in_metadata(db, slack):
    channel = make_channel("tsa_ops", "slack", "#tsa_ops")

    detail = channels.send(channel, _message())

    assert detail == {"channel": "C0TSAOPS1", "ts": slack.messages[0]["ts"]}
    [posted] = slack.messages
    assert posted["text"] == "scanner\nQueue still high"
    assert posted["metadata"] == {
        "event_type": "hms_notification",
        "event_payload": {"marker": "hms-notification-1"},
    }
    assert slack.calls("chat.postMessage")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_server_error_is_transient_and_not_retried_by_the_client(db, slack):
    slack.post_replies = [Reply(500, "upstream failed")]
    channel = make_channel("tsa_ops", "slack", "#tsa_ops")

    with pytest.raises(ChannelError) as error:
        channels.send(channel, _message())

    assert error.value.permanent is False
    assert "HTTP 500" in str(error.value)
    assert len(slack.calls("chat.postMessage")) == 1
    assert slack.messages == []


def test_rate_limit_is_transient_with_retry_after(db, slack):
    slack.post_replies = [
        Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "3"})
    ]
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel(), _message())
    assert error.value.permanent is False
    assert error.value.retry_after == 3.0


def test_unknown_channel_is_permanent(db, slack):
    channel = make_channel("ghost", "slack", "#no-such-channel")
    with pytest.raises(ChannelError) as error:
        channels.send(channel, _message())
    assert error.value.permanent is True
    assert "channel_not_found" in str(error.value)


@pytest.mark.parametrize("code", ["invalid_auth", "not_in_channel", "is_archived"])
def test_slack_refusals_are_permanent(db, slack, code):
    slack.post_replies = [Reply(200, {"ok": False, "error": code})]
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel(), _message())
    assert error.value.permanent is True
    assert code in str(error.value)


def test_without_a_token_slack_is_disabled_with_a_permanent_error(db, settings):
    settings.SLACK_BOT_TOKEN = ""
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel(), _message())
    assert error.value.permanent is True
    assert "SLACK_BOT_TOKEN" in str(error.value)


def test_unreachable_slack_is_transient_and_known_not_delivered(db, settings):
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_API_URL = f"http://127.0.0.1:{free_port()}/api/"
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel(), _message())
    assert error.value.permanent is False
    assert error.value.maybe_delivered is False


def test_a_reply_slower_than_the_timeout_may_have_been_delivered(db, slack, settings):
    settings.HMS_NOTIFY_TIMEOUT_SECONDS = 0.5
    slack.post_delays = [2]
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel(), _message())
    assert error.value.permanent is False
    assert error.value.maybe_delivered is True
    assert len(slack.messages) == 1


def test_find_delivered_finds_an_earlier_post_by_its_marker(db, slack):
    channel = make_channel("tsa_ops", "slack", "#tsa_ops")
    since = timezone.now() - timedelta(seconds=5)
    assert channels.find_delivered(channel, _message(), since) is None

    channels.send(channel, _message())
    other = Message(text="another", marker="hms-notification-2")
    channels.send(channel, other)

    found = channels.find_delivered(channel, _message(), since)
    assert found == {"channel": "C0TSAOPS1", "ts": slack.messages[0]["ts"], "recovered": True}
    assert slack.calls("conversations.list")  # "#tsa_ops" was resolved to its ID


def test_disabled_channel_refuses_to_send(db, slack):
    channel = make_channel(enabled=False)
    with pytest.raises(ChannelError, match="disabled") as error:
        channels.send(channel, _message())
    assert error.value.permanent is True
    assert slack.requests == []


@pytest.mark.parametrize(
    ("target", "valid"),
    [
        ("#tsa_ops", True),
        ("kpi-alerts", True),
        ("C0123ABCD", True),
        ("#Bad Name", False),
        ("", False),
    ],
)
def test_slack_target_is_validated_in_clean(db, target, valid):
    channel = Channel(name="tsa_ops", kind="slack", target=target)
    if valid:
        channel.full_clean()
    else:
        with pytest.raises(ValidationError) as error:
            channel.full_clean()
        assert "target" in error.value.message_dict
