"""One retry policy (ops/retry.py): the outbox and the playbook runner wait the same way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ops.models import ActionRun, Incident
from ops.playbook import runner
from ops.retry import backoff
from ops.services import register_service
from tests.factories import SCANNER_YAML, cluster_and_slack, readings, tsa_ops
from tests.support.handoff import evaluate


def test_backoff_doubles_from_the_base_up_to_the_cap():
    assert [backoff(n, 2.0, 20.0) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert backoff(0, 2.0, 20.0) == 2.0  # no attempt counted yet: the base


def test_a_peer_retry_after_wins_over_the_backoff_and_the_cap():
    assert backoff(1, 2.0, 20.0, retry_after=90.0) == 90.0
    assert backoff(4, 2.0, 20.0, retry_after=1.0) == 16.0
    assert backoff(1, 2.0, 20.0, retry_after=None) == 2.0


@pytest.fixture
def cluster(settings, db):
    with cluster_and_slack(settings, replicas=3) as (kube, _slack):
        tsa_ops()
        yield kube


def test_a_playbook_retry_waits_the_capped_backoff(cluster, settings):
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 3600
    settings.HMS_PLAYBOOK_RETRY_MAX_SECONDS = 30
    at = timezone.now()
    register_service(SCANNER_YAML)
    readings("DCA_Luggage_Scanner", [38.0] * 10, end=at)
    evaluate(at)
    incident = Incident.objects.get(state=Incident.State.OPEN)
    run = ActionRun.objects.get(incident=incident, action="scale_up")
    cluster.fail_next(503)
    before = timezone.now()
    assert runner.execute(run.pk) == "retry"
    run.refresh_from_db()
    assert run.status == "pending"
    assert before + timedelta(seconds=30) <= run.due_at <= timezone.now() + timedelta(seconds=30)
    assert runner.execute(run.pk) == "not claimed"  # not due before its back-off
