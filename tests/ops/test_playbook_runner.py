"""The playbook runner against the loopback Kubernetes API: retries, failures, once-only runs."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from ops import kube
from ops.models import ActionRun, AuditEntry, Incident, Notification
from ops.playbook import incidents, runner
from ops.services import register_service
from tests.factories import (
    DEPLOYMENT,
    SCANNER_YAML,
    cluster_and_slack,
    patches,
    readings,
    runs,
    tsa_ops,
)
from tests.support.handoff import evaluate

RECOVERING_YAML = SCANNER_YAML + (
    "  - if: recovered\n    then: scale_down compute=-2\ncooldown_seconds: 600\n"
    "kubernetes:\n  namespace: default\n  max_replicas: 6\n"
)


@pytest.fixture
def cluster(settings, db):
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 0
    with cluster_and_slack(settings, replicas=3) as (kube, _slack):
        tsa_ops()
        yield kube


def breach(yaml=SCANNER_YAML, at=None) -> Incident:
    at = at or timezone.now()
    register_service(yaml)
    readings("DCA_Luggage_Scanner", [38.0] * 10, end=at)
    evaluate(at)
    return Incident.objects.get(state=Incident.State.OPEN)


def recover(at):
    readings("DCA_Luggage_Scanner", [12.0] * 300, end=at)
    evaluate(at)


def scale_run(incident) -> ActionRun:
    return ActionRun.objects.get(incident=incident, action__startswith="scale_up")


def test_breach_opens_one_incident_planning_every_step_from_its_start(cluster):
    incident = breach()
    scale, page, log = runs(incident)
    assert (scale.action, scale.due_at) == ("scale_up", incident.opened_at)
    assert (page.action, page.trigger) == ("page", "still_breach_after")
    assert page.due_at == incident.opened_at + timedelta(seconds=60)
    assert (log.action, log.trigger, log.due_at) == ("log_to", "always", incident.opened_at)
    assert {r.status for r in (scale, page, log)} == {"pending"}


def test_breach_reported_twice_opens_one_incident(cluster):
    at = timezone.now()
    incident = breach(at=at)
    readings("DCA_Luggage_Scanner", [40.0] * 5, end=at + timedelta(seconds=5))
    evaluate(at + timedelta(seconds=5))
    evaluate(at)  # a late duplicate pass
    assert incidents.open_incident(incident.slo, at) is None
    assert Incident.objects.count() == 1
    assert ActionRun.objects.count() == 3


def test_scale_up_runs_once_even_when_its_task_is_delivered_twice(cluster):
    run = scale_run(breach())
    assert runner.execute(run.pk) == "succeeded"
    assert runner.execute(run.pk) == "not claimed"
    assert cluster.replicas(DEPLOYMENT) == 5
    assert [p.json() for p in patches(cluster)] == [{"spec": {"replicas": 5}}]
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 1)
    assert run.detail["attempts"][0]["kubernetes"]["result"] == {"from": 3, "to": 5}


def test_kubernetes_500_then_200_is_retried_and_scales_once(cluster):
    run = scale_run(breach())
    cluster.fail_next(500)
    assert runner.execute(run.pk) == "retry"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("pending", 1)
    assert run.detail["attempts"][0]["http_status"] == 500
    assert runner.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert [a["outcome"] for a in run.detail["attempts"]] == ["error", "succeeded"]
    assert cluster.replicas(DEPLOYMENT) == 5
    assert len(patches(cluster)) == 1
    events = [
        e.payload["event"]
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]
    assert events == ["action_pending", "action_succeeded"]


def test_transient_errors_stop_after_the_attempt_limit(cluster, settings):
    settings.HMS_PLAYBOOK_MAX_ATTEMPTS = 2
    run = scale_run(breach())
    cluster.fail_next(503, 503)
    assert runner.execute(run.pk) == "retry"
    assert runner.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 2)
    assert cluster.replicas(DEPLOYMENT) == 3


def test_kubernetes_403_is_a_permanent_failure_paged_with_the_reason(cluster):
    run = scale_run(breach())
    cluster.fail_next(403)
    assert runner.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 1)
    assert "403" in run.detail["failure"]
    [page] = Notification.objects.all()
    assert page.channel.name == "tsa_ops"
    assert "scale_up failed" in page.message and "403" in page.message
    assert runner.execute(run.pk) == "not claimed"
    assert Notification.objects.count() == 1


def test_page_waits_for_its_due_time_and_is_enqueued_once(cluster):
    incident = breach()
    page = ActionRun.objects.get(incident=incident, action="page")
    assert runner.execute(page.pk) == "not claimed"  # 60 s have not passed
    ActionRun.objects.filter(pk=page.pk).update(due_at=timezone.now())
    assert runner.execute(page.pk) == "succeeded"
    assert runner.execute(page.pk) == "not claimed"
    [notification] = Notification.objects.all()
    assert notification.channel.name == "tsa_ops"
    assert "[critical] DCA_Luggage_Scanner" in notification.message


def test_recovery_resolves_skips_the_pending_page_and_scales_back(cluster):
    at = timezone.now() - timedelta(minutes=20)
    incident = breach(RECOVERING_YAML, at=at)
    assert runner.execute(scale_run(incident).pk) == "succeeded"
    recover(at + timedelta(minutes=6))
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_by == "slo-evaluator"
    page = ActionRun.objects.get(incident=incident, action="page")
    assert page.status == "skipped"
    down = ActionRun.objects.get(incident=incident, action="scale_down")
    assert down.trigger == "recovered"
    assert runner.execute(down.pk) == "succeeded"
    assert cluster.replicas(DEPLOYMENT) == 3


def test_a_new_breach_within_the_cooldown_skips_corrective_actions(cluster):
    at = timezone.now() - timedelta(minutes=30)
    first = breach(RECOVERING_YAML, at=at)
    recover(at + timedelta(minutes=6))
    later = at + timedelta(minutes=7)
    readings("DCA_Luggage_Scanner", [50.0] * 300, end=later)
    evaluate(later)
    second = Incident.objects.exclude(pk=first.pk).get()
    assert second.in_cooldown
    statuses = {r.action: r.status for r in runs(second)}
    assert statuses == {"scale_up": "skipped", "page": "skipped", "log_to": "pending"}


def test_dry_run_records_the_exact_request_and_sends_nothing(cluster, settings):
    settings.KUBE_DRY_RUN = True
    run = scale_run(breach())
    assert runner.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    request = run.detail["attempts"][0]["kubernetes"]
    assert request["dry_run"] is True
    assert request["method"] == "PATCH"
    assert request["path"] == f"/apis/apps/v1/namespaces/default/deployments/{DEPLOYMENT}/scale"
    assert cluster.requests == []


def test_max_replicas_from_the_yaml_caps_the_scale(cluster):
    yaml = SCANNER_YAML + "kubernetes:\n  max_replicas: 4\n"
    run = scale_run(breach(yaml))
    assert runner.execute(run.pk) == "succeeded"
    assert cluster.replicas(DEPLOYMENT) == 4


def test_a_lost_run_is_found_by_the_sweep(cluster, django_capture_on_commit_callbacks):
    incident = breach()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = runner.dispatch_due()
    assert sent == 2  # scale_up and log_to are due; the page is not yet
    assert len(callbacks) == 0  # sent at once: nothing waits for a commit
    ActionRun.objects.filter(incident=incident, action="scale_up").update(
        status="running", lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert runner.dispatch_due() == 2


def test_page_to_a_missing_channel_fails_with_the_reason_instead_of_hanging(cluster):
    incident = breach(SCANNER_YAML.replace("channel=tsa_ops", "channel=nowhere"))
    page = ActionRun.objects.get(incident=incident, action="page")
    ActionRun.objects.filter(pk=page.pk).update(due_at=timezone.now())
    assert runner.execute(page.pk) == "failed"
    page.refresh_from_db()
    assert (
        page.status == "failed"
        and "no notification channel named 'nowhere'" in page.detail["failure"]
    )
    assert not Notification.objects.exists()


def test_a_run_re_executed_after_its_worker_died_mid_patch_scales_once(cluster):
    """The worker PATCHed (3 → 5) and died before recording it; the lease expires and a
    new worker runs the step again: it sends the planned absolute 5, not current + 2, and
    records the lost attempt as interrupted. (With a real SIGKILLed worker:
    tests/ops/test_playbook_worker_lost.py.)"""
    run = scale_run(breach())
    assert runner.execute(run.pk) == "succeeded"
    assert cluster.replicas(DEPLOYMENT) == 5
    # what the database holds when the worker dies between the PATCH and the record:
    detail = {
        key: value
        for key, value in run.__class__.objects.get(pk=run.pk).detail.items()
        if key != "attempts"
    }
    ActionRun.objects.filter(pk=run.pk).update(
        status=ActionRun.Status.RUNNING,
        lease_until=timezone.now() - timedelta(seconds=1),
        detail=detail,
    )
    assert runner.execute(run.pk) == "succeeded"
    assert runner.execute(run.pk) == "not claimed"
    assert cluster.replicas(DEPLOYMENT) == 5
    assert [p.json() for p in patches(cluster)] == [{"spec": {"replicas": 5}}] * 2
    run.refresh_from_db()
    assert run.detail["scale_plan"] == {"from": 3, "to": 5}
    assert run.attempts == 2
    interrupted, succeeded = run.detail["attempts"]
    assert (interrupted["attempt"], interrupted["outcome"]) == (1, "interrupted")
    assert interrupted["error"] == "worker lost (lease expired)"
    assert (succeeded["attempt"], succeeded["outcome"]) == (2, "succeeded")
    events = [
        (e.payload["event"], e.payload["attempt"])
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]
    # the first attempt's own success entry, then the lost-and-resent one (the database
    # was rewritten above to look as if the first worker had died before recording it)
    assert events == [("action_succeeded", 1), ("action_interrupted", 1), ("action_succeeded", 2)]


def test_a_running_run_within_its_lease_is_not_taken_again(cluster):
    """A worker that is only slow keeps its run until the lease ends; then one sweep takes it."""
    run = scale_run(breach())
    assert runner.claim(run.pk) is not None
    assert runner.claim(run.pk) is None
    later = timezone.now() + timedelta(seconds=settings.HMS_PLAYBOOK_LEASE_SECONDS + 1)
    assert runner.claim(run.pk, now=later) is not None
    assert runner.claim(run.pk, now=later) is None  # a second sweep's delivery takes nothing
    run.refresh_from_db()
    assert run.attempts == 2
    assert [a["outcome"] for a in run.detail["attempts"]] == ["interrupted"]


def test_a_slow_worker_whose_run_was_taken_over_sends_nothing_and_keeps_the_record(
    cluster, monkeypatch
):
    """The worker waits on its GET past its lease; a sweep's worker takes the run (attempt 2,
    attempt 1 recorded interrupted). The slow one must not store its plan over that record,
    nor PATCH: it stops, and the run is left as the new owner has it."""
    run = scale_run(breach())
    read = kube.plan_scale

    def slow_read(*args, **kwargs):
        plan = read(*args, **kwargs)
        after_the_lease = timezone.now() + timedelta(
            seconds=settings.HMS_PLAYBOOK_LEASE_SECONDS + 1
        )
        assert runner.claim(run.pk, now=after_the_lease) is not None  # the takeover
        return plan

    monkeypatch.setattr(kube, "plan_scale", slow_read)
    assert runner.execute(run.pk) == "lost claim"

    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in cluster.requests] == [("GET", "scale")]
    assert cluster.replicas(DEPLOYMENT) == 3
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 2)
    assert "scale_plan" not in run.detail
    [interrupted] = run.detail["attempts"]
    assert (interrupted["attempt"], interrupted["outcome"]) == (1, "interrupted")
    events = [
        (e.payload["event"], e.payload["attempt"])
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]
    assert events == [("action_interrupted", 1)]


def _taken_over(run: ActionRun) -> None:
    """What a sweep's worker does once this run's lease has run out: it takes the run."""
    after_the_lease = timezone.now() + timedelta(seconds=settings.HMS_PLAYBOOK_LEASE_SECONDS + 1)
    assert runner.claim(run.pk, now=after_the_lease) is not None


def test_a_slow_worker_taken_over_after_its_patch_does_not_record_over_the_new_owner(
    cluster, monkeypatch
):
    """The PATCH went out (harmless: the new owner re-sends the same absolute 5), but the
    run is no longer this worker's: its success is not recorded over attempt 2."""
    run = scale_run(breach())
    send = kube.scale_to

    def slow_send(*args, **kwargs):
        sent = send(*args, **kwargs)
        _taken_over(run)
        return sent

    monkeypatch.setattr(kube, "scale_to", slow_send)
    assert runner.execute(run.pk) == "lost claim"

    assert cluster.replicas(DEPLOYMENT) == 5
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 2)
    assert [a["outcome"] for a in run.detail["attempts"]] == ["interrupted"]
    events = [
        e.payload["event"]
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]
    assert events == ["action_interrupted"]


def test_a_slow_worker_taken_over_inside_a_writing_action_rolls_its_rows_back(cluster, monkeypatch):
    """``log_to`` writes its audit entry in the transaction that records success; when
    that record is refused (the run was taken over) the entry goes too, so the new
    owner's run writes the only one."""
    incident = breach()
    log_run = ActionRun.objects.get(incident=incident, action="log_to")
    executor = runner.EXECUTORS["log_to"]
    write = executor.run

    def slow_write(action, ctx):
        written = write(action, ctx)
        _taken_over(log_run)
        return written

    monkeypatch.setattr(executor, "run", slow_write)
    assert runner.execute(log_run.pk) == "lost claim"

    logged = [
        e for e in AuditEntry.objects.filter(topic="ops.incident") if e.payload["event"] == "log"
    ]
    assert logged == []


def _worker_dies(run: ActionRun) -> None:
    """A worker takes the run and dies; its lease then runs out."""
    assert runner.claim(run.pk) is not None
    ActionRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def _run_events(run: ActionRun) -> list[tuple[str, int]]:
    return [
        (e.payload["event"], e.payload["attempt"])
        for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
        if e.payload.get("run") == run.pk
    ]


def test_a_run_whose_worker_keeps_dying_fails_after_the_last_attempt_and_pages_once(
    cluster, settings
):
    settings.HMS_PLAYBOOK_MAX_ATTEMPTS = 3
    run = scale_run(breach())
    _worker_dies(run)
    _worker_dies(run)  # attempt 1 recorded interrupted; attempt 2 taken, and lost too
    _worker_dies(run)  # attempt 3, the last one allowed, lost

    assert runner.execute(run.pk) == "failed"
    assert runner.execute(run.pk) == "not claimed"
    assert runner.dispatch_due() == 1  # only the log_to run: the failed one is not re-sent

    run.refresh_from_db()
    assert (run.status, run.attempts, run.lease_until) == ("failed", 3, None)
    assert run.finished_at is not None
    assert [(a["attempt"], a["outcome"]) for a in run.detail["attempts"]] == [
        (1, "interrupted"),
        (2, "interrupted"),
        (3, "interrupted"),
    ]
    assert run.detail["failure"] == (
        "worker lost 3 times (lease expired): attempts exhausted (HMS_PLAYBOOK_MAX_ATTEMPTS=3)"
    )
    assert cluster.requests == []  # every worker died before reaching Kubernetes
    assert _run_events(run) == [
        ("action_interrupted", 1),
        ("action_interrupted", 2),
        ("action_interrupted", 3),
        ("action_failed", 3),
    ]
    [page] = Notification.objects.all()
    assert page.channel.name == "tsa_ops"
    assert page.dedupe_key == f"ops.incident:{run.incident_id}:run:{run.pk}:failed"
    assert "scale_up failed" in page.message and "worker lost 3 times" in page.message


def test_two_sweeps_racing_on_the_last_lost_attempt_fail_it_and_page_once(
    cluster, settings, monkeypatch
):
    """Both deliveries read the expired lease before either writes: the one UPDATE fenced
    on that attempt and lease wins; the other writes, audits and pages nothing."""
    settings.HMS_PLAYBOOK_MAX_ATTEMPTS = 1
    run = scale_run(breach())
    _worker_dies(run)
    now = timezone.now()
    seen = runner._lost(run.pk, now)
    monkeypatch.setattr(runner, "_lost", lambda run_id, now: seen)  # both read the same row

    assert runner.claim(run.pk, now=now).status == "failed"
    assert runner.claim(run.pk, now=now) is None

    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 1)
    assert [a["outcome"] for a in run.detail["attempts"]] == ["interrupted"]
    assert _run_events(run) == [("action_interrupted", 1), ("action_failed", 1)]
    assert Notification.objects.count() == 1


def test_a_lost_attempt_with_attempts_left_is_sent_again_at_once(cluster, settings):
    """No back-off after an interruption: the expired lease already was one."""
    settings.HMS_PLAYBOOK_MAX_ATTEMPTS = 2
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 3600  # would push a back-off far out
    run = scale_run(breach())
    _worker_dies(run)
    assert runner.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert [a["outcome"] for a in run.detail["attempts"]] == ["interrupted", "succeeded"]
    assert cluster.replicas(DEPLOYMENT) == 5


def test_a_patch_answered_after_the_timeout_is_retried_and_scales_once(cluster, settings):
    """The API server applies the PATCH (3 → 5) but answers after the timeout: a transient
    error with its text, back to pending; the next attempt sends the same absolute 5."""
    settings.HMS_KUBE_TIMEOUT_SECONDS = 0.5
    cluster.hold_next("PATCH", 3)
    run = scale_run(breach())
    assert runner.execute(run.pk) == "retry"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("pending", 1)
    [error] = run.detail["attempts"]
    assert (error["outcome"], error["permanent"], error["http_status"]) == ("error", False, None)
    assert error["error"].startswith("Kubernetes did not answer within 0.5 s")
    assert cluster.replicas(DEPLOYMENT) == 5  # applied, though the worker never heard

    assert runner.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert cluster.replicas(DEPLOYMENT) == 5  # current + 2 once, not 7
    assert [p.json() for p in patches(cluster)] == [{"spec": {"replicas": 5}}] * 2
    assert _run_events(run) == [("action_pending", 1), ("action_succeeded", 2)]
