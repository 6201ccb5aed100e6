"""Fault tests of the outbox on a real Celery worker (Redis) against loopback peers."""

import time

import pytest
from django.db import transaction
from django.urls import reverse

from ops import audit, outbox
from ops.models import AuditEntry, Notification, NotificationAttempt
from tests.factories import make_channel
from tests.support.http_server import LoopbackServer, Reply, Script
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack
from tests.support.smtp_server import SmtpServer
from tests.support.worker import recorded_deliveries

pytestmark = pytest.mark.services
Status = Notification.Status
Outcome = NotificationAttempt.Outcome


@pytest.fixture
def fast_outbox(settings):
    settings.HMS_NOTIFY_BACKOFF_SECONDS = 0.2
    settings.HMS_NOTIFY_MAX_ATTEMPTS = 5
    settings.HMS_NOTIFY_TIMEOUT_SECONDS = 5
    settings.HMS_NOTIFY_LEASE_SECONDS = 30
    return settings


@pytest.fixture
def deliveries():
    """``send_notification`` results; waiting on them keeps the test off SQLite's test DB."""
    with recorded_deliveries() as results:
        yield results


def _slack(settings, *replies, **options):
    server = FakeSlack(*replies, **options)
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_API_URL = server.api_url
    return server


def _enqueue(channel, key="incident:7:page", **extra):
    with transaction.atomic():
        return outbox.enqueue(
            channel, "Queue still high", dedupe_key=key, subject="scanner", **extra
        )


def _settled(notification, deliveries, *, after=0, timeout=20):
    wait_until(
        lambda: {"sent", "failed"} & set(deliveries[after:]),
        timeout=timeout,
        what=f"notification #{notification.pk} to settle",
    )
    notification.refresh_from_db()
    return notification


def _outcomes(notification):
    return list(notification.attempt_log.values_list("outcome", flat=True))


def test_slack_500_500_200_delivers_once_after_three_recorded_attempts(
    celery_worker, fast_outbox, deliveries
):
    error = Reply(500, {"ok": False, "error": "internal_error"})
    with _slack(fast_outbox, error, error) as slack:
        notification = _settled(_enqueue(make_channel()), deliveries)

    assert notification.status == Status.SENT
    assert len(slack.messages) == 1
    assert len(slack.calls("chat.postMessage")) == 3
    assert notification.attempts == 3
    assert _outcomes(notification) == [
        Outcome.TRANSIENT_ERROR,
        Outcome.TRANSIENT_ERROR,
        Outcome.SENT,
    ]
    first, second, third = notification.attempt_log.all()
    assert "HTTP 500" in first.error
    assert second.started_at - first.finished_at >= _seconds(0.2)
    assert third.detail == {"channel": "C0TSAOPS1", "ts": slack.messages[0]["ts"]}
    [entry] = AuditEntry.objects.filter(topic="ops.notification")
    assert entry.payload["status"] == "sent" and entry.payload["attempts"] == 3


def _seconds(value):
    from datetime import timedelta

    return timedelta(seconds=value)


def test_slack_429_with_retry_after_is_delivered_after_the_wait(
    celery_worker, fast_outbox, deliveries
):
    limited = Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
    with _slack(fast_outbox, limited) as slack:
        started = time.monotonic()
        notification = _settled(_enqueue(make_channel()), deliveries)
        posts = slack.calls("chat.postMessage")

    assert notification.status == Status.SENT
    assert len(slack.messages) == 1
    assert len(posts) == 2
    first, second = notification.attempt_log.all()
    assert first.outcome == Outcome.TRANSIENT_ERROR and first.detail["retry_after"] == 1.0
    assert (second.started_at - first.finished_at).total_seconds() >= 1.0
    assert time.monotonic() - started >= 1.0


def test_slack_channel_not_found_fails_at_once_with_the_error(
    celery_worker, fast_outbox, deliveries
):
    with _slack(fast_outbox) as slack:
        channel = make_channel("ghost", "slack", "#no-such-channel")
        notification = _settled(_enqueue(channel), deliveries)

    assert notification.status == Status.FAILED
    assert notification.attempts == 1
    assert "channel_not_found" in notification.last_error
    [attempt] = notification.attempt_log.all()
    assert attempt.outcome == Outcome.PERMANENT_ERROR
    assert "channel_not_found" in attempt.error
    assert slack.messages == []
    [entry] = AuditEntry.objects.filter(topic="ops.notification")
    assert entry.payload["status"] == "failed"
    assert "channel_not_found" in entry.payload["error"]


def test_retries_are_finite_then_the_admin_retry_action_delivers(
    celery_worker, fast_outbox, deliveries, admin_client
):
    fast_outbox.HMS_NOTIFY_MAX_ATTEMPTS = 3
    slack = _slack(fast_outbox, *[Reply(503, "maintenance")] * 3)
    with slack:
        notification = _settled(_enqueue(make_channel()), deliveries)
        assert notification.status == Status.FAILED
        assert _outcomes(notification) == [Outcome.TRANSIENT_ERROR] * 3
        assert len(slack.calls("chat.postMessage")) == 3

        before = len(deliveries)
        response = admin_client.post(
            reverse("admin:ops_notification_changelist"),
            {"action": "retry_failed", "_selected_action": [notification.pk]},
        )
        assert response.status_code == 302
        _settled(notification, deliveries, after=before)

    assert notification.status == Status.SENT
    assert notification.attempts == 4
    assert len(slack.messages) == 1
    statuses = [e.payload["status"] for e in AuditEntry.objects.filter(topic="ops.notification")]
    assert statuses == ["failed", "retry_requested", "sent"]
    assert AuditEntry.objects.get(payload__status="retry_requested").actor == "admin_ada"
    assert audit.verify().ok


def test_email_is_delivered_through_the_worker_via_smtp(celery_worker, fast_outbox, deliveries):
    with SmtpServer() as smtp:
        fast_outbox.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        fast_outbox.EMAIL_HOST, fast_outbox.EMAIL_PORT = "127.0.0.1", smtp.port
        channel = make_channel("kpi-mail", "email", "ops@example.org")
        notification = _settled(_enqueue(channel), deliveries)

    assert notification.status == Status.SENT
    [message] = smtp.messages
    assert message["Subject"] == "scanner"
    assert message["Message-ID"] == f"<{notification.marker}@localhost>"


def test_webhook_503_then_204_is_delivered_on_the_second_attempt(
    celery_worker, fast_outbox, deliveries, monkeypatch
):
    monkeypatch.setenv("HMS_TEST_WEBHOOK_SECRET", "s3cret")
    with LoopbackServer(Script(Reply(503, "busy"), Reply(204, b""))) as peer:
        channel = make_channel(
            "hook", "webhook", f"{peer.url}/hook", secret_env="HMS_TEST_WEBHOOK_SECRET"
        )
        notification = _settled(_enqueue(channel), deliveries)

    assert notification.status == Status.SENT
    assert _outcomes(notification) == [Outcome.TRANSIENT_ERROR, Outcome.SENT]
    assert {r.headers["x-hms-delivery"] for r in peer.requests} == {notification.marker}


def test_a_second_delivery_task_for_a_sent_row_sends_nothing(
    celery_worker, fast_outbox, deliveries
):
    from ops.outbox.tasks import send_notification

    with _slack(fast_outbox) as slack:
        notification = _settled(_enqueue(make_channel()), deliveries)
        assert send_notification.delay(notification.pk).get(timeout=10) == "skipped"
    assert len(slack.messages) == 1
    assert notification.attempt_log.count() == 1
