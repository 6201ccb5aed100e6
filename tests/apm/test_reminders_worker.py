"""Done-when of issue 16 on a real Celery worker (Redis): reminders counted on the Slack peer.

A baseline red for three simulated days with ``remind_every: 1 day`` sends one
opening and two reminders to Slack, none after an acknowledgement, and one
"resolved" message when it goes back to green. The clock the reminder sweep
and the worker go by is pinned with the test-only ``HMS_TEST_CLOCK``; each
sweep is the beat task itself, sent to the worker.
"""

from datetime import timedelta

import pytest

from apm import escalations, services
from apm.models import Escalation
from ops.models import Notification
from tests import factories as f
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack

pytestmark = pytest.mark.services
DAY = timedelta(days=1)


def _sweep(settings, at):
    from apm.tasks import send_due_reminders

    settings.HMS_TEST_CLOCK = at
    return send_due_reminders.delay().get(timeout=30)


def test_red_three_days_one_opening_two_reminders_none_after_ack_one_resolved(
    apm_worker, settings, staff_alice
):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        program = f.program(code="FTHV", owner_group=staff_alice.groups.get())
        f.route(f.make_channel("kpi-alerts", "slack", "#kpi-alerts"), remind_every=DAY)
        baseline = f.baseline(program, name="avg_wait_days", probe_query="SELECT 41.7")

        services.run_baseline(baseline)  # day 0: red, opens
        escalation = Escalation.objects.get()
        wait_until(lambda: len(slack.messages) == 1, timeout=30, what="the opening")
        start = escalation.opened_at

        for day in (1, 2):
            at = start + day * DAY + timedelta(minutes=1)
            assert _sweep(settings, at)["reminded"] == 1
            # beat firing twice (or the task delivered twice) at the same moment
            assert _sweep(settings, at)["reminded"] == 0
            wait_until(lambda n=day: len(slack.messages) == 1 + n, timeout=30, what="a reminder")

        escalations.acknowledge(escalation, actor=staff_alice, note="on it: vendor called")
        assert _sweep(settings, start + 3 * DAY + timedelta(minutes=1))["reminded"] == 0
        assert _sweep(settings, start + 4 * DAY + timedelta(minutes=1))["reminded"] == 0

        f.set_probe(baseline, 25)
        services.run_baseline(baseline)  # back to green
        wait_until(lambda: len(slack.messages) == 4, timeout=30, what="the resolved message")
        # every outbox row is settled: nothing else is on its way to Slack
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists(),
            timeout=30,
            what="every notification to be sent",
        )
        assert Notification.objects.count() == 4
        texts = [m["text"] for m in slack.messages]

    assert len(texts) == 4
    assert texts[0].startswith("[CRITICAL] FTHV / avg_wait_days\n")
    assert texts[1] == (
        "[REMINDER] [CRITICAL] FTHV / avg_wait_days\n"
        "still red for 1 day: actual 41.7, promised ≤ 30 (+39.0 %)"
    )
    assert "still red for 2 days: actual 41.7, promised ≤ 30 (+39.0 %)" in texts[2]
    assert "[RESOLVED] [CRITICAL] FTHV / avg_wait_days" in texts[3]
    assert "\nResolved (automatically: back to ok) after " in texts[3]
    assert {m["channel"] for m in slack.messages} == {"C0KPIALRT"}
