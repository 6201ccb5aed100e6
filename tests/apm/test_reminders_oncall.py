"""A reminder to an ``oncall`` channel that finds the shift changed goes to the new person."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apm import services
from ops.models import Notification
from tests import factories as f
from tests.ops.oncall_factories import three_shifts
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack

pytestmark = pytest.mark.services
NY = ZoneInfo("America/New_York")


def _all_sent():
    return not Notification.objects.exclude(status="sent").exists()


def test_the_opening_reaches_alice_and_the_reminder_after_the_handoff_reaches_bob(
    apm_worker, settings
):
    from apm.tasks import send_due_reminders

    dms = {"alice": "U0ALICE01", "bob": "U0BOBBY01"}
    with FakeSlack(channels=dms) as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        three_shifts()
        channel = f.make_channel("housing-oncall", "oncall", "tsa-primary")
        f.route(channel, remind_every=timedelta(hours=4))

        # The run opens its escalation at the real now, so its reminder is due 4 h after
        # it; the pinned clock is tomorrow (shifts repeat daily), after both.
        day = datetime.now(NY).date() + timedelta(days=1)
        settings.HMS_TEST_CLOCK = datetime.combine(day, time(11, 0), NY).astimezone(UTC)
        services.run_baseline(f.baseline(name="avg_wait_days", probe_query="SELECT 41.7"))
        wait_until(lambda: slack.messages and _all_sent(), timeout=30, what="the opening")

        settings.HMS_TEST_CLOCK = datetime.combine(day, time(16, 0), NY).astimezone(UTC)
        assert send_due_reminders.delay().get(timeout=30)["reminded"] == 1
        wait_until(lambda: len(slack.messages) == 2 and _all_sent(), timeout=30, what="reminder")

    assert [m["channel"] for m in slack.messages] == ["U0ALICE01", "U0BOBBY01"]
    assert "still red for" in slack.messages[1]["text"]
    reminder = Notification.objects.get(payload__event="reminder")
    assert reminder.attempt_log.get().detail["on_call"] == "oncall_bob"
