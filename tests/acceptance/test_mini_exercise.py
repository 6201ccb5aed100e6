"""The seed's mini-exercise (section 8) on real parts: Prometheus, Redis, a Celery worker,
the real slack_sdk client against a loopback Slack, and the ticket channel."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apm.models import Baseline, Deviation, Escalation, Ticket
from ops.models import AuditEntry, Notification
from tests import factories as ef
from tests import factories as f
from tests.support.history import EVAL_TIME
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack
from tests.support.worker import recorded_deliveries, worker_drained

pytestmark = pytest.mark.services
AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)
SEED_ERROR_RATE_QUERY = "rate(api_errors_total / api_requests_total [24h]) * 100"


@pytest.fixture
def deliveries():
    with recorded_deliveries() as results:
        yield results


def watchdog_run_once(at):
    call_command("watchdog_run", at=at.isoformat())


def test_error_rate_breach_sends_one_slack_alert_and_one_ticket_and_nothing_new_while_red(
    apm_worker, prometheus, settings, deliveries
):
    settings.PROMETHEUS_URL = prometheus.url
    settings.HMS_NOTIFY_BACKOFF_SECONDS = 0.2
    ef.kpi_alerts_and_tickets()
    program = f.program(code="public-api", name="Public API")

    # 1. "Application Error Rate <= 1 %": the seed's probe is not valid PromQL ...
    baseline = Baseline(
        program=program, name="application_error_rate_pct", target_value=1, compare_op="le",
        probe_kind="promql", probe_query=SEED_ERROR_RATE_QUERY, threshold_pct=10,
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        baseline.full_clean()
    assert "parse error" in refused.value.message_dict["probe_query"][0]
    # ... the valid form is accepted; 2. threshold 10 % deviation
    baseline.probe_query = f.ERROR_RATE_QUERY
    baseline.full_clean()
    baseline.save()
    assert baseline.probe_verified

    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        # 3. errors injected: the history holds 3 errors per 100 requests; 4. the watchdog run
        watchdog_run_once(AT)
        wait_until(lambda: deliveries.count("sent") >= 2, timeout=60, what="two deliveries")

        # 5. one Slack alert and one management ticket
        deviation = Deviation.objects.get()
        assert deviation.actual == pytest.approx(3.0)
        assert deviation.deviation_pct == pytest.approx(200.0)
        escalation = Escalation.objects.get()
        assert escalation.level == Escalation.Level.CRITICAL
        assert escalation.status == Escalation.Status.OPEN
        assert escalation.deviation == deviation
        assert len(slack.messages) == 1
        [message] = slack.messages
        assert message["channel"] == "C0KPIALRT"
        assert "application_error_rate_pct is 3" in message["text"]
        assert "CRITICAL" in message["text"]
        ticket = Ticket.objects.get()
        assert ticket.kind == Ticket.Kind.ESCALATION and ticket.level == "critical"
        assert ticket.escalation == escalation and ticket.baseline == baseline
        assert Notification.objects.filter(status="sent").count() == 2

        # Running the watchdog again while still red sends nothing new.
        watchdog_run_once(AT + timedelta(minutes=15))
        worker_drained()  # a dispatch, had one been queued after commit, has run now
        assert deliveries.count("sent") == 2
        assert len(slack.messages) == 1 and slack.post_calls == 1
        assert Notification.objects.count() == 2
        assert Ticket.objects.count() == 1
        assert Deviation.objects.count() == 2
        escalation.refresh_from_db()
        assert escalation.breach_count == 2
        assert escalation.deviation == Deviation.objects.order_by("-evaluated_at").first()
        assert Escalation.objects.count() == 1

    changes = [e.payload["change"] for e in AuditEntry.objects.filter(topic="apm.escalation")]
    assert changes == ["opened"]  # a repeat while red only counts (breach_count 2)
    assert AuditEntry.objects.filter(topic="apm.ticket").count() == 1
