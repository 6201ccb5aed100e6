"""The seed's section 3.2 snippet, as written, against a live server."""

from datetime import UTC, datetime

import pytest

from apm.models import Escalation
from hms_apm import Baseline, Escalate, HmsApiError, Watchdog
from ops.models import Notification
from tests import factories as ef
from tests import factories as f
from tests.support.history import EVAL_TIME

AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)


@pytest.mark.services
def test_seed_daily_check_escalates_once_through_the_sdk(
    sdk, scheduled, prometheus, settings, runs_at_history_are_live
):
    settings.PROMETHEUS_URL = prometheus.url
    ef.kpi_alerts_and_tickets()
    wait_time = Baseline.create(
        program_id=f.program().pk, name="avg_wait_days", target_value=30, compare_op="le",
        probe_query=f.VALID_HOUSING_QUERY,
    )  # fmt: skip

    # monitor/daily_check.py, as in the seed (compare at the history's fixed time)
    @Watchdog.schedule(cron="0 2 * * *")
    def check_housing_wait():
        score = Watchdog.compare(baseline_id=wait_time.id, at=AT)
        print("📊 Deviation:", score)

        if score > 20:
            Escalate.send(
                baseline_id=wait_time.id,
                message=f"Wait-time off by {score:.1f}% (>{30} days)",
                level="critical",
            )

    check_housing_wait()
    check_housing_wait()  # the next night, still red

    escalation = Escalation.objects.get()
    assert escalation.level == "critical" and escalation.status == "open"
    assert escalation.message == "Wait-time off by 24.0% (>30 days)"
    assert escalation.breach_count == 2
    # announced once per route (Slack + ticket), not once per night or per call
    assert Notification.objects.count() == 2
    [listed] = Escalate.list(baseline=wait_time.id)
    assert listed["id"] == escalation.pk


def test_escalate_send_opens_by_hand_and_refuses_a_bad_level(sdk):
    baseline = f.baseline()
    opened = Escalate.send(baseline_id=baseline.pk, message="Call center down", level="warning")
    assert opened["status"] == "open" and opened["level"] == "warning"
    with pytest.raises(HmsApiError) as refused:
        Escalate.send(baseline_id=baseline.pk, message="x", level="doom")
    assert refused.value.status == 400 and "level" in refused.value.body
    resolved = Escalate.resolve(opened["id"], note="phones back")
    assert resolved["status"] == "resolved"


def test_snooze_through_the_sdk_and_a_bad_until_is_a_400(sdk):
    from datetime import timedelta

    from django.utils import timezone

    baseline = f.baseline()
    opened = Escalate.send(baseline_id=baseline.pk, message="Call center down")
    until = timezone.now() + timedelta(days=2)
    snoozed = Escalate.snooze(opened["id"], until, note="waiting for the vendor")
    assert snoozed["snoozed_until"] is not None and "waiting for the vendor" in snoozed["note"]
    with pytest.raises(HmsApiError) as refused:
        Escalate.snooze(opened["id"], "2001-01-01T00:00:00Z")
    assert refused.value.status == 400 and "until" in refused.value.body
    with pytest.raises(HmsApiError) as refused:
        Escalate.snooze(opened["id"], "next week")
    assert refused.value.status == 400 and "until" in refused.value.body
