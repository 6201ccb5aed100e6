"""A worker killed while a reminder is due and being sent: after a restart it is sent once.

The worker is a real ``celery worker`` subprocess on Redis and PostgreSQL. The
reminder's due time is a row, so nothing the dead worker held in memory is
needed: the restarted worker's sweep and outbox recovery finish the job, the
Slack peer (loopback) sees the reminder exactly once, and further sweeps (beat
firing again, the task delivered twice) add nothing.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apm import services
from apm.models import Escalation, EscalationReminder
from ops.models import Notification
from tests import factories as f
from tests.ops.worker_process import WorkerProcess
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack

pytestmark = pytest.mark.services
LEASE_SECONDS = 6


@pytest.fixture
def server_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "a subprocess worker needs a database it can open: pytest-django's SQLite test "
            "database lives in memory; this test runs with DATABASE_URL (PostgreSQL)"
        )


def _env(slack):
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
        "HMS_NOTIFY_TIMEOUT_SECONDS": "3",
        "HMS_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "HMS_NOTIFY_BACKOFF_SECONDS": "0.2",
    }


def _reminder_rows():
    return Notification.objects.filter(payload__event="reminder")


def test_worker_killed_while_a_reminder_is_due_sends_it_once_after_restart(
    server_database, redis_url, tmp_path
):
    from apm.tasks import send_due_reminders
    from ops.outbox.tasks import dispatch_due_notifications

    # the opening is answered at once; the reminder is posted but answered late
    with FakeSlack(post_delays=[0, 60]) as slack:
        first = WorkerProcess(tmp_path, "doomed", **_env(slack))
        second = None
        try:
            f.route(
                f.make_channel("kpi-alerts", "slack", "#kpi-alerts"), remind_every=timedelta(days=1)
            )
            services.run_baseline(f.baseline(probe_query="SELECT 41.7"))
            wait_until(lambda: len(slack.messages) == 1, timeout=30, what="the opening")
            # a day has passed: the reminder is due
            day_ago = timezone.now() - timedelta(days=1, minutes=1)
            Escalation.objects.update(opened_at=day_ago, red_since=day_ago)

            send_due_reminders.delay()
            wait_until(lambda: len(slack.messages) == 2, timeout=30, what="the reminder post")
            first.kill()  # Slack has the reminder; its answer never reaches the worker
            [reminder] = _reminder_rows()
            assert reminder.status == Notification.Status.SENDING

            second = WorkerProcess(tmp_path, "restarted", **_env(slack))
            # beat keeps firing: the sweep finds the reminder already claimed
            assert send_due_reminders.delay().get(timeout=30)["reminded"] == 0
            wait_until(
                lambda: timezone.now() > reminder.lease_until,
                timeout=LEASE_SECONDS + 5,
                what="the dead worker's lease to expire",
            )
            dispatch_due_notifications.delay()

            def sent():
                reminder.refresh_from_db()
                return reminder.status == Notification.Status.SENT

            wait_until(sent, timeout=30, what="the reminder to be settled")
            assert send_due_reminders.delay().get(timeout=30)["reminded"] == 0
            assert send_due_reminders.delay().get(timeout=30)["reminded"] == 0
        finally:
            first.stop()
            if second is not None:
                second.stop()

    posts = slack.calls("chat.postMessage")
    assert len(posts) == 2, second.output()
    assert "still red for 1 day" in slack.messages[1]["text"]
    assert _reminder_rows().count() == 1
    assert EscalationReminder.objects.get().sent == 1
    outcomes = list(reminder.attempt_log.values_list("outcome", flat=True))
    assert outcomes == ["interrupted", "sent"]
    assert reminder.attempt_log.last().detail["recovered"] is True
