"""A worker SIGKILLed in the middle of a playbook scale: after the lease, the step is done once.

The first worker is a real ``celery worker`` subprocess running the seed
scanner's ``scale_up compute=+2``. The loopback Kubernetes applies its PATCH
(3 → 5) and holds the answer; the worker is SIGKILLed before it hears back, so
the database still says ``running``, with only the plan (``detail.scale_plan``,
stored before the PATCH). Once the lease has expired the beat sweep
(``ops.tasks.evaluate_slos``) sends the run again, a second worker takes it,
records the lost attempt as interrupted and sends the same absolute 5 — not 7.
"""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone

from ops.models import ActionRun, AuditEntry, Incident, Notification
from ops.services import register_service
from tests.factories import DEPLOYMENT, SCANNER_YAML, cluster_and_slack, patches, readings, tsa_ops
from tests.ops.worker_process import WorkerProcess
from tests.support.handoff import evaluate
from tests.support.services import require, wait_until
from tests.support.slack import TOKEN

pytestmark = pytest.mark.services
LEASE_SECONDS = 10  # the shortest HMS_PLAYBOOK_LEASE_SECONDS the settings accept
KUBE_TIMEOUT_SECONDS = 5  # the settings want the lease above HMS_KUBE_TIMEOUT_SECONDS
HELD_SECONDS = 60  # the peer sits on its answer longer than the test lasts
SCALE = f"/apis/apps/v1/namespaces/default/deployments/{DEPLOYMENT}/scale"
TO_FIVE = {"spec": {"replicas": 5}}


@pytest.fixture
def peers(transactional_db, redis_url, settings):
    if connection.vendor != "postgresql":
        require(
            "PostgreSQL",
            "a subprocess worker opens the test database: run with DATABASE_URL=postgres://…",
        )
    with cluster_and_slack(settings, replicas=3) as (kube, slack):
        tsa_ops()
        yield kube, slack


@contextmanager
def workers(tmp_path, kube, slack):
    """``start(name)`` starts a worker pointed at the peers; every one is stopped at the end."""
    started = []

    def start(name: str) -> WorkerProcess:
        started.append(
            WorkerProcess(
                tmp_path,
                name,
                KUBE_API_URL=kube.url,
                KUBE_TOKEN="test-token",
                KUBE_DRY_RUN="0",
                SLACK_BOT_TOKEN=TOKEN,
                SLACK_API_URL=slack.api_url,
                HMS_PLAYBOOK_LEASE_SECONDS=str(LEASE_SECONDS),
                HMS_KUBE_TIMEOUT_SECONDS=str(KUBE_TIMEOUT_SECONDS),
            )
        )
        return started[-1]

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def breach() -> ActionRun:
    """The seed's scanner breaches: the incident opens, its runs go to the queue after commit."""
    register_service(SCANNER_YAML)
    readings("DCA_Luggage_Scanner", [38.0] * 10)
    evaluate()
    return ActionRun.objects.get(incident=Incident.objects.get(), action="scale_up")


def kill_when(worker: WorkerProcess, kube, method: str) -> None:
    wait_until(
        lambda: any(r.method == method for r in kube.requests),
        timeout=30,
        what=f"the worker's {method} to reach Kubernetes",
    )
    worker.kill()


def sweep_after_the_lease(run: ActionRun) -> dict:
    """What beat does every HMS_SLO_EVAL_SECONDS, once the dead worker's lease is over."""
    from ops.tasks import evaluate_slos

    wait_until(
        lambda: timezone.now() > run.lease_until,
        timeout=LEASE_SECONDS + 5,
        what="the dead worker's lease to expire",
    )
    return evaluate_slos.delay().get(timeout=30)


def wait_settled(run: ActionRun) -> None:
    def settled():
        run.refresh_from_db()
        return run.status != ActionRun.Status.RUNNING

    wait_until(settled, timeout=30, what="the scale run to be recorded")


def audited(run: ActionRun) -> list[tuple[str, int]]:
    return [
        (e.payload["event"], e.payload["attempt"])
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]


def test_worker_killed_after_its_patch_was_applied_scales_once(peers, tmp_path, settings):
    kube, slack = peers
    settings.HMS_PLAYBOOK_DELAY_SCALE = 0.1  # the page (still_breach_after 60) is due after 6 s
    kube.hold_next("PATCH", HELD_SECONDS)
    with workers(tmp_path, kube, slack) as start:
        doomed = start("doomed")
        run = breach()
        kill_when(doomed, kube, "PATCH")  # Kubernetes has 5 replicas; the worker never heard

        run.refresh_from_db()
        assert kube.replicas(DEPLOYMENT) == 5
        assert (run.status, run.attempts) == ("running", 1)
        assert run.detail == {"scale_plan": {"from": 3, "to": 5}}  # nothing else was recorded

        restarted = start("restarted")
        swept = sweep_after_the_lease(run)
        wait_settled(run)
        page = ActionRun.objects.get(incident=run.incident, action="page")
        wait_until(
            lambda: Notification.objects.filter(status="sent").exists(),
            timeout=30,
            what="the playbook's page to be sent",
        )

    assert swept["due_actions"] >= 1
    assert (run.status, run.attempts) == ("succeeded", 2), restarted.output()
    assert kube.replicas(DEPLOYMENT) == 5  # not 7: the resend is the planned absolute value
    assert [(r.method, r.path) for r in kube.requests] == [
        ("GET", SCALE),
        ("PATCH", SCALE),
        ("PATCH", SCALE),
    ]
    assert [p.json() for p in patches(kube)] == [TO_FIVE, TO_FIVE]
    interrupted, succeeded = run.detail["attempts"]
    assert interrupted["attempt"] == 1 and interrupted["outcome"] == "interrupted"
    assert interrupted["error"] == "worker lost (lease expired)"
    assert succeeded["attempt"] == 2 and succeeded["outcome"] == "succeeded"
    assert succeeded["kubernetes"]["body"] == TO_FIVE
    assert succeeded["kubernetes"]["result"] == {"from": 3, "to": 5}
    assert audited(run) == [("action_interrupted", 1), ("action_succeeded", 2)]

    page.refresh_from_db()
    assert (page.status, page.attempts) == ("succeeded", 1)
    assert Notification.objects.count() == 1
    assert len(slack.calls("chat.postMessage")) == 1 and len(slack.messages) == 1
    # no error anywhere: no retried or failed run, no traceback in the surviving worker
    assert not AuditEntry.objects.filter(
        topic="ops.incident", payload__event__in=["action_pending", "action_failed"]
    ).exists()
    assert "Traceback" not in restarted.output()


def test_worker_killed_before_its_patch_left_scales_once(peers, tmp_path):
    kube, slack = peers
    kube.hold_next("GET", HELD_SECONDS)  # the worker dies reading the current replicas
    with workers(tmp_path, kube, slack) as start:
        doomed = start("doomed")
        run = breach()
        kill_when(doomed, kube, "GET")

        run.refresh_from_db()
        assert (run.status, run.attempts, run.detail) == ("running", 1, {})
        assert kube.replicas(DEPLOYMENT) == 3

        restarted = start("restarted")
        sweep_after_the_lease(run)
        wait_settled(run)

    assert (run.status, run.attempts) == ("succeeded", 2), restarted.output()
    assert kube.replicas(DEPLOYMENT) == 5
    assert [(r.method, r.path) for r in kube.requests] == [
        ("GET", SCALE),
        ("GET", SCALE),
        ("PATCH", SCALE),
    ]
    assert [p.json() for p in patches(kube)] == [TO_FIVE]
    assert run.detail["scale_plan"] == {"from": 3, "to": 5}
    assert [a["outcome"] for a in run.detail["attempts"]] == ["interrupted", "succeeded"]
    assert audited(run) == [("action_interrupted", 1), ("action_succeeded", 2)]
