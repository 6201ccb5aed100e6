"""Reminders of open escalations, snoozing them, and "resolved" notices (clock passed in)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apm import escalations, reminders, services
from apm.models import Escalation, EscalationReminder
from ops.models import AuditEntry, Notification
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def red(staff_alice):
    """avg_wait_days red at 41.7 against ≤ 30, a daily-reminding Slack route, a ticket route."""
    program = f.program(code="FTHV", owner_group=staff_alice.groups.get())
    slack = f.route(f.make_channel("kpi-alerts", "slack", "#kpi-alerts"), remind_every=DAY)
    f.route(f.make_channel("management", "ticket", "escalation"), remind_every=DAY)
    baseline = f.baseline(program, name="avg_wait_days", probe_query="SELECT 41.7")
    services.run_baseline(baseline)
    return Escalation.objects.get(), slack


def _texts(kind="reminder"):
    rows = Notification.objects.filter(payload__event=kind).order_by("pk")
    return [(n.channel.name, f"{n.subject}: {n.message}") for n in rows]


def test_a_reminder_says_how_long_it_is_red_against_the_promise(red):
    escalation, _route = red
    assert reminders.sweep(now=escalation.opened_at + DAY - timedelta(seconds=1))["reminded"] == 0

    result = reminders.sweep(now=escalation.opened_at + DAY + timedelta(minutes=1))

    assert result["reminded"] == 1
    assert _texts() == [
        (
            "kpi-alerts",
            "[REMINDER] [CRITICAL] FTHV / avg_wait_days: still red for 1 day: "
            "actual 41.7, promised ≤ 30 (+39.0 %)",
        )
    ]
    notification = Notification.objects.get(payload__event="reminder")
    assert notification.dedupe_key == (
        f"apm.escalation:{escalation.pk}:reminder-1:route-{red[1].pk}"
    )
    assert (
        AuditEntry.objects.filter(topic="apm.escalation", payload__change="reminded").count() == 1
    )


def test_the_ticket_channel_gets_no_reminders(red):
    escalation, _route = red
    reminders.sweep(now=escalation.opened_at + 3 * DAY)
    assert {name for name, _ in _texts()} == {"kpi-alerts"}


def test_a_second_sweep_of_the_same_moment_sends_nothing_more(red):
    escalation, _route = red
    at = escalation.opened_at + DAY + timedelta(minutes=1)
    assert reminders.sweep(now=at)["reminded"] == 1
    assert reminders.sweep(now=at)["reminded"] == 0
    reminder = EscalationReminder.objects.get(route=red[1])
    # the same reminder claimed again by a stale task finds nothing to claim
    assert reminders.send_one(reminder.pk, at) is None
    assert len(_texts()) == 1
    assert reminder.sent == 1 and reminder.next_at == at + DAY


def test_one_reminder_per_period_without_a_burst_after_an_outage(red):
    escalation, _route = red
    # the sweep did not run for five days: one reminder now, the next a day later
    assert reminders.sweep(now=escalation.opened_at + 5 * DAY)["reminded"] == 1
    assert reminders.sweep(now=escalation.opened_at + 5 * DAY + DAY / 2)["reminded"] == 0
    assert reminders.sweep(now=escalation.opened_at + 6 * DAY)["reminded"] == 1


def test_no_reminders_after_an_acknowledgement(red, staff_alice):
    escalation, _route = red
    reminders.sweep(now=escalation.opened_at + DAY)
    escalations.acknowledge(escalation, actor=staff_alice, note="vendor called, fix Friday")
    assert reminders.sweep(now=escalation.opened_at + 4 * DAY)["reminded"] == 0
    assert len(_texts()) == 1


def test_max_reminders_stops_them(red):
    escalation, route = red
    route.max_reminders = 2
    route.save()
    for day in range(1, 6):
        reminders.sweep(now=escalation.opened_at + day * DAY)
    assert len(_texts()) == 2


def test_a_route_without_remind_every_never_reminds(staff_alice):
    f.route(f.make_channel("kpi-alerts", "slack", "#kpi-alerts"))
    services.run_baseline(f.baseline(probe_query="SELECT 41.7"))
    escalation = Escalation.objects.get()
    assert reminders.sweep(now=escalation.opened_at + 30 * DAY) == {"planned": 0, "reminded": 0}


def test_snooze_holds_reminders_until_then_and_is_audited(red, staff_alice):
    escalation, _route = red
    start = escalation.opened_at
    escalations_before = AuditEntry.objects.filter(payload__change="snoozed").count()
    reminders.snooze(
        escalation, actor=staff_alice, until=start + 3 * DAY, note="waiting for the Q2 data",
        now=start,
    )  # fmt: skip
    assert reminders.sweep(now=start + DAY)["reminded"] == 0
    assert reminders.sweep(now=start + 2 * DAY)["reminded"] == 0
    assert reminders.sweep(now=start + 3 * DAY)["reminded"] == 1
    escalation.refresh_from_db()
    assert escalation.status == "open" and escalation.snoozed_until == start + 3 * DAY
    assert "waiting for the Q2 data" in escalation.note
    entry = AuditEntry.objects.filter(payload__change="snoozed").get()
    assert escalations_before == 0
    assert entry.actor == "staff_alice" and entry.payload["note"] == "waiting for the Q2 data"


@pytest.mark.parametrize("until", [timedelta(minutes=-1), timedelta(0), timedelta(days=91)])
def test_snooze_refuses_the_past_and_more_than_90_days(red, staff_alice, until):
    escalation, _route = red
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        reminders.snooze(escalation, actor=staff_alice, until=now + until, now=now)
    assert "until" in error.value.message_dict
    escalation.refresh_from_db()
    assert escalation.snoozed_until is None


def test_a_resolved_escalation_cannot_be_snoozed(red, staff_alice):
    escalation, _route = red
    escalations.resolve(escalation, actor=staff_alice)
    with pytest.raises(escalations.NotOpen):
        reminders.snooze(escalation, actor=staff_alice, until=timezone.now() + DAY)


def test_resolving_tells_each_told_channel_once_how_long_it_was_red(red, staff_alice):
    escalation, _route = red
    Escalation.objects.filter(pk=escalation.pk).update(
        red_since=escalation.red_since - 3 * DAY - timedelta(hours=2)
    )
    reminders.sweep(now=escalation.opened_at + DAY)
    escalation.refresh_from_db()
    escalations.resolve(escalation, actor=staff_alice, note="two more case workers")

    assert _texts("resolved") == [
        (
            "kpi-alerts",
            "[RESOLVED] [CRITICAL] FTHV / avg_wait_days: Resolved (by hand) after 3 days red.",
        )
    ]
    # the ticket channel closed its ticket instead; resolving again is refused
    with pytest.raises(escalations.NotOpen):
        escalations.resolve(escalation, actor=staff_alice)
    assert len(_texts("resolved")) == 1


def test_going_back_to_green_announces_it_automatically(red):
    escalation, _route = red
    baseline = escalation.baseline
    f.set_probe(baseline, 25)
    services.run_baseline(baseline)
    [(name, text)] = _texts("resolved")
    assert name == "kpi-alerts"
    assert text.startswith("[RESOLVED] [CRITICAL] FTHV / avg_wait_days: Resolved "
                           "(automatically: back to ok) after ")  # fmt: skip


def test_a_channel_whose_opening_gave_up_is_not_told_it_is_over(red, staff_alice):
    escalation, _route = red
    Notification.objects.filter(channel__name="kpi-alerts").update(status="failed")
    escalations.resolve(escalation, actor=staff_alice)
    assert _texts("resolved") == []
