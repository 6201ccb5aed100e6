"""The watchdog asks its maintenance question inside the decision's own statements
(apm/escalation_statements.py): the answer stays docs/VERDICTS.md's, on every path."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import escalation_statements as statements
from apm import escalations, maintenance, services
from apm.models import Deviation, Escalation, MaintenanceWindow
from ops.models import AuditEntry, Notification
from tests import factories as f

pytestmark = pytest.mark.django_db


def red_and_open(program):
    """A red baseline (37.2 against ≤ 30) whose first run opened its escalation."""
    baseline = f.baseline(program, name="avg_wait_days", probe_query="SELECT 37.2")
    services.run_baseline(baseline)
    return baseline, Escalation.objects.get(baseline=baseline)


def window(scope: dict, *, start, hours=2, recurrence=""):
    return maintenance.create_window(
        **scope,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        recurrence=recurrence,
        reason="patching",
        actor="test",
    )


@pytest.mark.parametrize("scope", ["program", "baseline"])
def test_a_red_run_in_a_window_over_an_open_escalation_is_stored_and_counts_nothing(scope):
    program = f.program()
    f.slack_route(program)
    baseline, escalation = red_and_open(program)
    window({scope: program if scope == "program" else baseline}, start=timezone.now())
    audited, notified = AuditEntry.objects.count(), Notification.objects.count()

    deviation = services.run_baseline(baseline)

    assert (deviation.status, deviation.in_maintenance) == ("breach", True)
    assert Deviation.objects.get(pk=deviation.pk).in_maintenance is True
    escalation.refresh_from_db()
    assert (escalation.breach_count, escalation.deviation_id) == (1, deviation.pk - 1)
    assert AuditEntry.objects.count() == audited
    assert Notification.objects.count() == notified


def test_a_red_run_that_would_raise_in_a_window_raises_nothing():
    program = f.program()
    baseline = f.baseline(program, probe_query="SELECT 37.2")  # 24 %: critical
    escalations.send(baseline, "Wait times creeping up", level="warning", actor="staff")
    window({"program": program}, start=timezone.now())

    deviation = services.run_baseline(baseline)

    assert deviation.in_maintenance is True
    escalation = Escalation.objects.get()
    assert (escalation.level, escalation.breach_count) == ("warning", 0)
    changes = [e.payload["change"] for e in AuditEntry.objects.filter(topic="apm.escalation")]
    assert changes == ["opened"]


def test_an_ok_run_in_a_window_resolves_nothing():
    program = f.program()
    baseline, escalation = red_and_open(program)
    window({"baseline": baseline}, start=timezone.now())
    baseline.probe_query = "SELECT 20"
    baseline.save()

    deviation = services.run_baseline(baseline)

    assert (deviation.status, deviation.in_maintenance) == ("ok", True)
    escalation.refresh_from_db()
    assert escalation.is_open


def test_a_weekly_window_off_its_day_leaves_the_count_as_usual_and_unaudited():
    program = f.program()
    baseline, escalation = red_and_open(program)
    # Began two days ago, two hours long, weekly: it may cover now (begun), but does not.
    window({"program": program}, start=timezone.now() - timedelta(days=2), recurrence="weekly")
    audited = AuditEntry.objects.count()

    deviation = services.run_baseline(baseline)

    assert deviation.in_maintenance is False
    escalation.refresh_from_db()
    assert (escalation.breach_count, escalation.deviation_id) == (2, deviation.pk)
    assert AuditEntry.objects.count() == audited


def test_a_weekly_window_on_its_day_covers_an_ok_run():
    program = f.program()
    baseline, escalation = red_and_open(program)
    window(
        {"program": program},
        start=timezone.now() - timedelta(days=14, minutes=30),
        recurrence="weekly",
    )
    baseline.probe_query = "SELECT 20"
    baseline.save()

    deviation = services.run_baseline(baseline)

    assert deviation.in_maintenance is True
    escalation.refresh_from_db()
    assert escalation.is_open


def test_a_window_created_or_ended_takes_effect_at_the_next_run():
    program = f.program()
    baseline, escalation = red_and_open(program)
    now = timezone.now()
    silence = window({"program": program}, start=now - timedelta(minutes=5))
    assert services.run_baseline(baseline).in_maintenance is True
    maintenance.update_window(silence, ends_at=now - timedelta(minutes=1), actor="test")

    after = services.run_baseline(baseline)

    assert after.in_maintenance is False
    escalation.refresh_from_db()
    assert (escalation.breach_count, escalation.deviation_id) == (2, after.pk)


def test_another_baselines_window_is_not_this_ones():
    program = f.program()
    baseline, escalation = red_and_open(program)
    other = f.baseline(f.program())
    window({"baseline": other}, start=timezone.now() - timedelta(minutes=5))
    window({"program": other.program}, start=timezone.now() - timedelta(minutes=5))

    assert services.run_baseline(baseline).in_maintenance is False
    escalation.refresh_from_db()
    assert escalation.breach_count == 2


@pytest.mark.parametrize(
    ("offset_hours", "recurrence"),
    [
        (-1, ""),
        (1, ""),
        (-3, ""),
        (0, ""),
        (-2, ""),
        (-1, "weekly"),
        (1, "weekly"),
        (-50, "weekly"),
    ],
)
def test_the_written_out_may_cover_is_the_querysets(offset_hours, recurrence):
    """The statement's condition and ``MaintenanceWindowQuerySet.may_cover`` agree, at the
    edges (start included, end excluded) too."""
    program = f.program()
    baseline = f.baseline(program)
    at = timezone.now().replace(microsecond=0)
    window({"program": program}, start=at + timedelta(hours=offset_hours), recurrence=recurrence)
    run = Deviation(baseline=baseline, evaluated_at=at)

    expected = MaintenanceWindow.objects.filter(program=program).may_cover(at).exists()
    assert statements.open_and_paused(run) == (False, expected)


def test_a_person_who_escalates_by_hand_in_a_window_is_heard():
    """A window mutes the watchdog, not people: an explicit Escalate.send opens and
    notifies (docs/VERDICTS.md), while the watchdog's own red run beside it stays quiet."""
    program = f.program()
    f.slack_route(program)
    baseline = f.baseline(program, probe_query="SELECT 37.2")
    window({"program": program}, start=timezone.now())
    assert services.run_baseline(baseline).in_maintenance is True
    assert (Escalation.objects.count(), Notification.objects.count()) == (0, 0)

    escalation, created = escalations.send(baseline, "Scanner down at DCA", actor="staff")

    assert created and escalation.source == Escalation.Source.MANUAL
    assert Notification.objects.count() == 1
