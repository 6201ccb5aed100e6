"""A worker SIGKILLed between the evaluator's commit and the hand-off: the sweep hands it off once.

The pass commits the breach and sends the service's hand-off task. A real ``celery
worker`` subprocess takes it, claims the change and blocks on the audit vault's
chain head, which this test holds; it is SIGKILLed there, so its transaction (the
claim, nothing else) is rolled back and the change is still unhandled, with no
incident and no audit entry. After the grace period the beat's pass
(``ops.services.tick``) sends it again; a second worker opens the incident once.
"""

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from ops import services
from ops.models import ActionRun, AuditEntry, Incident, SLOStateChange
from ops.slo import evaluate_all
from tests.factories import readings, service_yaml
from tests.ops.worker_process import WorkerProcess
from tests.support.services import wait_until

pytestmark = pytest.mark.services
LOG_ONLY = "playbook:\n  - always:\n    log_to: HMS-DTA\n"


def _open_connection():
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)
IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() "
    "AND (state LIKE 'idle in transaction%%' OR wait_event_type = 'Lock')"
)


@pytest.fixture
def server_database(transactional_db, redis_url):
    if connection.vendor != "postgresql":
        pytest.skip(
            "a subprocess worker needs a database it can open: pytest-django's SQLite test "
            "database lives in memory; this test runs with DATABASE_URL (PostgreSQL)"
        )


def test_a_worker_killed_before_the_hand_off_committed_is_handed_off_once_by_the_sweep(
    server_database, tmp_path, settings
):
    settings.HMS_SLO_HANDOFF_GRACE_SECONDS = 1
    services.register_service(service_yaml() + LOG_ONLY)  # its audit entry makes the head
    readings("DCA_Luggage_Scanner", [38.0] * 10)
    holder = _open_connection()
    doomed = restarted = None
    try:
        holder.execute("SELECT 1 FROM ops_auditchainhead FOR UPDATE")  # the vault is busy
        doomed = WorkerProcess(tmp_path, "doomed")
        result = evaluate_all(timezone.now())  # commits; the hand-off task goes to Redis
        assert len(result.changes) == 1
        wait_until(lambda: _count(WAITING) >= 1, timeout=60, what="the worker to reach the vault")
        doomed.kill()  # between the commit of the change and the commit of its hand-off
        holder.rollback()
        wait_until(
            lambda: _count(IN_TRANSACTION) == 0, timeout=30, what="the dead worker's rollback"
        )
        change = SLOStateChange.objects.get()
        assert (change.handled_at, change.handoff_attempts) == (None, 0)
        assert not Incident.objects.exists()
        assert not AuditEntry.objects.filter(topic="ops.slo").exists()

        restarted = WorkerProcess(tmp_path, "restarted")
        wait_until(
            lambda: timezone.now() > change.handoff_due_at, timeout=10, what="the grace period"
        )
        swept = services.tick()  # the beat's pass: the change is unhandled past its grace
        assert swept["handoffs_resent"] == 1
        wait_until(
            lambda: SLOStateChange.objects.filter(handled_at__isnull=False).exists(),
            timeout=60,
            what="the second worker's hand-off",
        )
        wait_until(
            lambda: ActionRun.objects.filter(status="succeeded").exists(),
            timeout=60,
            what="the log_to run the hand-off planned",
        )
        assert services.tick()["handoffs_resent"] == 0  # handled: never sent again
    finally:
        holder.close()
        for worker in (doomed, restarted):
            if worker is not None:
                worker.stop()

    incident = Incident.objects.get()
    assert incident.service_id == "DCA_Luggage_Scanner" and incident.state == "open"
    [entry] = AuditEntry.objects.filter(topic="ops.slo")
    assert (entry.payload["from"], entry.payload["to"]) == ("no_data", "breached")
    assert AuditEntry.objects.filter(topic="ops.incident", payload__event="opened").count() == 1
    assert list(ActionRun.objects.values_list("action", "status")) == [("log_to", "succeeded")]
    assert "Traceback" not in restarted.output()
