"""A worker killed while a notification is being sent: on restart it is delivered once.

The first worker is a real ``celery worker`` subprocess, SIGKILLed while Slack
(a loopback server) has posted the message but not yet answered. After the
lease expires the beat sweep reclaims the row; the next attempt finds the
message in ``conversations.history`` by its metadata marker and marks it sent
without posting again.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ops import outbox
from ops.models import Notification, NotificationAttempt
from ops.outbox.services import claim
from tests.factories import make_channel
from tests.ops.worker_process import WorkerProcess
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack
from tests.support.worker import recorded_deliveries

pytestmark = pytest.mark.services
Status = Notification.Status
Outcome = NotificationAttempt.Outcome
TIMEOUT_SECONDS = 3
LEASE_SECONDS = 6


def _slack_env(slack: FakeSlack) -> dict:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
        "HMS_NOTIFY_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "HMS_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "HMS_NOTIFY_BACKOFF_SECONDS": "0.2",
    }


@pytest.fixture
def server_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "a subprocess worker needs a database it can open: pytest-django's SQLite test "
            "database lives in memory; this test runs with DATABASE_URL (PostgreSQL)"
        )


def test_worker_killed_mid_send_is_delivered_once_after_restart(
    server_database, redis_url, tmp_path
):
    from ops.outbox.tasks import dispatch_due_notifications

    with FakeSlack(post_delays=[60]) as slack:
        first = WorkerProcess(tmp_path, "doomed", **_slack_env(slack))
        second = None
        try:
            with transaction.atomic():
                notification = outbox.enqueue(
                    make_channel(), "Queue still high", dedupe_key="incident:7:page"
                )
            wait_until(lambda: slack.messages, timeout=30, what="Slack to receive the post")
            first.kill()  # Slack has posted; its answer never reaches the worker

            notification.refresh_from_db()
            assert notification.status == Status.SENDING
            assert _outcomes(notification) == [Outcome.IN_PROGRESS]

            second = WorkerProcess(tmp_path, "restarted", **_slack_env(slack))
            wait_until(
                lambda: timezone.now() > notification.lease_until,
                timeout=LEASE_SECONDS + 5,
                what="the dead worker's lease to expire",
            )
            dispatch_due_notifications.delay()  # what beat does every HMS_NOTIFY_SWEEP_SECONDS

            def settled():
                notification.refresh_from_db()
                return notification.status == Status.SENT

            wait_until(settled, timeout=30, what="the notification to be sent")
        finally:
            first.stop()
            if second is not None:
                second.stop()

    assert len(slack.calls("chat.postMessage")) == 1, second.output()
    assert len(slack.messages) == 1
    assert slack.calls("conversations.history")
    interrupted, recovered = notification.attempt_log.all()
    assert interrupted.outcome == Outcome.INTERRUPTED
    assert "worker lost" in interrupted.error
    assert recovered.outcome == Outcome.SENT
    assert recovered.detail == {
        "channel": "C0TSAOPS1",
        "ts": slack.messages[0]["ts"],
        "recovered": True,
    }


def _outcomes(notification):
    return list(notification.attempt_log.values_list("outcome", flat=True))


def test_an_interrupted_send_that_never_reached_slack_is_sent_once(celery_worker, settings):
    from ops.outbox.tasks import dispatch_due_notifications

    settings.HMS_NOTIFY_LEASE_SECONDS = LEASE_SECONDS
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        # A row whose dispatch message went with the worker that claimed it,
        # recorded the attempt's start, and died before the POST.
        notification = Notification.objects.create(
            channel=make_channel(), message="Queue high", dedupe_key="i:8:page"
        )
        token = claim(notification.pk)
        assert token is not None
        NotificationAttempt.objects.create(
            notification=notification, claim_token=token, started_at=timezone.now()
        )
        Notification.objects.filter(pk=notification.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )

        with recorded_deliveries() as deliveries:
            assert dispatch_due_notifications.delay().get(timeout=10) == {
                "reclaimed": 1,
                "queued": 1,
            }
            wait_until(lambda: "sent" in deliveries, timeout=20, what="the notification sent")

    notification.refresh_from_db()
    assert notification.status == Status.SENT

    assert len(slack.messages) == 1
    assert _outcomes(notification) == [Outcome.INTERRUPTED, Outcome.SENT]
    assert notification.attempt_log.last().detail["resent_after_unknown_outcome"] is True
    assert slack.calls("conversations.history")


def test_a_send_that_outlives_its_lease_still_settles_the_row_once(transactional_db, settings):
    """The sweep reclaims a row whose worker is only slow; the late success still counts.

    (Per-call timeouts normally end every call before the lease; this forces the case.)
    """
    settings.HMS_NOTIFY_TIMEOUT_SECONDS = 5
    settings.HMS_NOTIFY_LEASE_SECONDS = 30
    with FakeSlack(post_delays=[1.5]) as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        notification = Notification.objects.create(
            channel=make_channel(), message="Queue high", dedupe_key="i:9:page"
        )
        results = []
        sender = threading.Thread(target=lambda: results.append(outbox.deliver(notification.pk)))
        sender.start()
        wait_until(lambda: slack.messages, timeout=10, what="Slack to receive the post")
        Notification.objects.filter(pk=notification.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert outbox.reclaim_expired() == 1
        sender.join(timeout=20)

        assert results == ["sent"]
        notification.refresh_from_db()
        assert notification.status == Status.SENT
        # A stale task for the row finds nothing to do; a re-claim would check history first.
        assert outbox.deliver(notification.pk) == "skipped"

    assert len(slack.messages) == 1
    assert _outcomes(notification) == [Outcome.SENT]
