"""E-mail through a real SMTP server (aiosmtpd); webhooks signed and checked by the peer."""

import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError

from ops import channels
from ops.channels import ChannelError, Message
from ops.models import Channel
from tests.factories import make_channel
from tests.support import dns
from tests.support.http_server import LoopbackServer, Reply, Script
from tests.support.services import free_port
from tests.support.smtp_server import SmtpServer

SECRET = "s3cret-for-tests"


@pytest.fixture
def smtp(settings):
    with SmtpServer(refuse={"nobody@example.org"}) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server


def _message():
    return Message(
        text="Error rate 1.4 % > 1 %",
        subject="Application Error Rate breached",
        payload={"baseline": 4},
        marker="hms-notification-9",
    )


def test_email_reaches_every_recipient_with_a_stable_message_id(db, smtp):
    channel = make_channel("kpi-mail", "email", "ops@example.org, lead@example.org")

    detail = channels.send(channel, _message())

    [message] = smtp.messages
    assert message["Subject"] == "Application Error Rate breached"
    assert message["Message-ID"] == "<hms-notification-9@localhost>"
    assert message.get_content().strip() == "Error rate 1.4 % > 1 %"
    assert smtp.envelopes[0][1] == ["ops@example.org", "lead@example.org"]
    assert detail == {
        "recipients": ["ops@example.org", "lead@example.org"],
        "message_id": "<hms-notification-9@localhost>",
    }


def test_refused_recipient_is_a_permanent_error(db, smtp):
    channel = make_channel("kpi-mail", "email", "nobody@example.org")
    with pytest.raises(ChannelError) as error:
        channels.send(channel, _message())
    assert error.value.permanent is True
    assert "nobody@example.org" in str(error.value)
    assert smtp.messages == []


def test_unreachable_mail_server_is_transient(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    with pytest.raises(ChannelError) as error:
        channels.send(make_channel("kpi-mail", "email", "ops@example.org"), _message())
    assert error.value.permanent is False


def test_email_target_must_list_addresses(db):
    channel = Channel(name="kpi-mail", kind="email", target="ops@example.org, not-an-address")
    with pytest.raises(ValidationError) as error:
        channel.full_clean()
    assert error.value.message_dict["target"] == ["Not an e-mail address: not-an-address."]


def _verifying_peer(received):
    """A receiver that checks X-HMS-Signature over the raw body, as a real one must."""

    def handle(request):
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hms-signature", ""), expected):
            return Reply(401, {"detail": "bad signature"})
        received.append(json.loads(request.body))
        return Reply(204, b"")

    return handle


def test_webhook_body_is_signed_with_the_secret_from_the_named_variable(db, monkeypatch):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", SECRET)
    received = []
    with LoopbackServer(_verifying_peer(received)) as peer:
        channel = make_channel(
            "war-room-hook", "webhook", f"{peer.url}/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
        )
        detail = channels.send(channel, _message())

    assert detail == {"status": 204}
    assert received == [
        {
            "channel": "war-room-hook",
            "subject": "Application Error Rate breached",
            "message": "Error rate 1.4 % > 1 %",
            "payload": {"baseline": 4},
            "marker": "hms-notification-9",
        }
    ]
    assert peer.requests[0].headers["x-hms-delivery"] == "hms-notification-9"


def test_webhook_signed_with_another_secret_is_refused_by_the_peer(db, monkeypatch):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", "not-the-shared-secret")
    received = []
    with LoopbackServer(_verifying_peer(received)) as peer:
        channel = make_channel(
            "war-room-hook", "webhook", f"{peer.url}/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
        )
        with pytest.raises(ChannelError) as error:
            channels.send(channel, _message())
    assert error.value.permanent is True
    assert "HTTP 401" in str(error.value)
    assert received == []


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after"),
    [
        (Reply(503, "down"), False, None),
        (Reply(429, "slow down", headers={"Retry-After": "7"}), False, 7.0),
        (Reply(404, "no such hook"), True, None),
    ],
)
def test_webhook_status_decides_transient_or_permanent(
    db, monkeypatch, reply, permanent, retry_after
):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", SECRET)
    with LoopbackServer(Script(reply)) as peer:
        channel = make_channel(
            "hook", "webhook", f"{peer.url}/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
        )
        with pytest.raises(ChannelError) as error:
            channels.send(channel, _message())
    assert error.value.permanent is permanent
    assert error.value.retry_after == retry_after


def test_webhook_without_its_secret_in_the_environment_is_permanent(db, monkeypatch):
    monkeypatch.delenv("HMS_TEST_WEBHOOK_SECRET", raising=False)
    channel = make_channel(
        "hook", "webhook", "http://127.0.0.1:9/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
    )
    with pytest.raises(ChannelError, match="HMS_TEST_WEBHOOK_SECRET") as error:
        channels.send(channel, _message())
    assert error.value.permanent is True


def test_webhook_channel_stores_a_variable_name_never_a_secret(db):
    channel = Channel(
        name="hook", kind="webhook", target="ftp://example.org/", secret_env="s3cr3t!"
    )
    with pytest.raises(ValidationError) as error:
        channel.full_clean()
    assert set(error.value.message_dict) == {"target", "secret_env"}
    assert "not the secret itself" in error.value.message_dict["secret_env"][0]


# --- the outbound guard on the webhook path (ops/outbound/) ------------------------------


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0x7f.1/hook", "loopback"),
        ("http://hook@localhost./hook", "loopback"),
        ("http://169.254.169.254/latest/", "link-local"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.0.0.5/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("http://[fc00::1]/hook", "private"),
    ],
)
def test_webhook_target_inside_the_network_is_refused_at_save(db, settings, target, why):
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    channel = Channel(name="hook", kind="webhook", target=target, secret_env="HMS_HOOK_SECRET")
    with pytest.raises(ValidationError) as error:
        channel.full_clean()
    [message] = error.value.message_dict["target"]
    assert message.startswith("This target is refused: ") and why in message


def test_the_admin_form_names_the_refused_target(admin_client, settings):
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    response = admin_client.post(
        "/admin/ops/channel/add/",
        {
            "name": "hook",
            "kind": "webhook",
            "target": "http://169.254.169.254/",
            "secret_env": "HMS_HOOK_SECRET",
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "link-local" in errors["target"][0]
    assert not Channel.objects.exists()


def test_webhook_redirect_is_a_permanent_error_and_not_followed(db, monkeypatch):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", SECRET)
    received = []
    with LoopbackServer(_verifying_peer(received)) as inner:
        moved = Reply(307, "", headers={"Location": f"{inner.url}/hook"})
        with LoopbackServer(lambda request: moved) as outer:
            channel = make_channel(
                "hook", "webhook", f"{outer.url}/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
            )
            with pytest.raises(ChannelError, match="redirects are not followed") as error:
                channels.send(channel, _message())
        assert inner.requests == [] and received == []
    assert error.value.permanent is True


def test_webhook_target_rebound_to_loopback_is_refused_at_connect(db, settings, monkeypatch):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", SECRET)
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    monkeypatch.setitem(dns.NAMES, "hooks.rebind.test", ["8.8.8.8"])
    with LoopbackServer(Script(Reply(204, b""))) as peer:
        channel = make_channel(
            "hook",
            "webhook",
            f"http://hooks.rebind.test:{peer.port}/hook",
            secret_env="HMS_TEST_WEBHOOK_SECRET",
        )
        monkeypatch.setitem(dns.NAMES, "hooks.rebind.test", ["127.0.0.1"])
        with pytest.raises(ChannelError, match="127.0.0.1 is a loopback address") as error:
            channels.send(channel, _message())
        assert peer.requests == []
    assert error.value.permanent is True
