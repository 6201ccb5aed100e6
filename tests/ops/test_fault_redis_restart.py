"""Fault: Redis restarted (its queues emptied) while notification sends are queued.

The outbox row in PostgreSQL is the truth, not the broker message: the beat
sweep finds the still-pending rows and queues them again. Nothing is lost, and
the claim (a conditional UPDATE) keeps the re-queued duplicates from sending twice.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from ops.models import Notification, NotificationAttempt
from tests.factories import make_channel
from tests.support.redis_server import PrivateRedis
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack
from tests.support.worker import subprocess_database_url

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
SEND = "ops.outbox.tasks.send_notification"
SWEEP = "ops.outbox.tasks.dispatch_due_notifications"


@pytest.fixture
def server_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("a subprocess worker needs the PostgreSQL test database (DATABASE_URL)")


def start_worker(tmp_path, broker_url, queue, slack):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hms_site.settings",
        "SECRET_KEY": "redis-restart-test-" + "k" * 50,
        "DEBUG": "0",
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": broker_url,
        "HMS_CELERY_QUEUE": queue,
        "HMS_VAR_DIR": str(tmp_path / "var"),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed by the caller
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hms_site", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-mingle", "--without-gossip",
         "--hostname", f"redis-restart-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return process, log


def test_redis_restart_loses_no_queued_send_and_sends_none_twice(server_database, tmp_path):
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-fault"
    with FakeSlack() as slack, PrivateRedis(tmp_path) as broker:
        channel = make_channel()
        rows = [
            Notification.objects.create(
                channel=channel, message=f"page {i}", dedupe_key=f"redis-restart:{i}"
            )
            for i in range(5)
        ]
        producer = Celery(broker=broker.url, set_as_current=False)
        for row in rows:
            producer.send_task(SEND, args=[row.pk], queue=queue)
        assert broker.client().llen(queue) == 5

        broker.restart()  # nothing on disk: the five queued sends are gone
        assert broker.client().llen(queue) == 0

        worker, log = start_worker(tmp_path, broker.url, queue, slack)
        try:
            producer = Celery(broker=broker.url, set_as_current=False)
            # two beat ticks of the sweep: every pending row is queued twice
            producer.send_task(SWEEP, queue=queue)
            producer.send_task(SWEEP, queue=queue)

            def all_sent():
                return not Notification.objects.exclude(status=Notification.Status.SENT).exists()

            wait_until(all_sent, timeout=60, interval=0.2, what="every notification to be sent")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.close()

    texts = sorted(message["text"] for message in slack.messages)
    assert texts == [f"page {i}" for i in range(5)], (tmp_path / "worker.log").read_text()
    for row in rows:
        outcomes = list(row.attempt_log.values_list("outcome", flat=True))
        assert outcomes == [NotificationAttempt.Outcome.SENT]
