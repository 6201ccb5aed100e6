"""Escalations from the watchdog: one open per baseline, updated while red, resolved when ok."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apm import escalations, services
from apm.models import Escalation, Ticket
from apm.models.escalation import level_for
from ops.models import AuditEntry, Notification
from tests import factories as ef
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pct", "threshold", "level"),
    [
        (24.0, 20, "critical"),  # the seed: > 20 % over target -> critical
        (20.0, 20, "warning"),
        (10.5, 20, "warning"),
        (10.0, 20, "info"),
        (0.1, 20, "info"),
        (0.0, 20, None),
        (-5.0, 20, None),
        (100.0, 20, "critical"),  # no data counts as 100 %
        (11.0, 10, "critical"),
    ],
)
def test_level_follows_the_deviation_against_the_threshold(pct, threshold, level):
    assert level_for(pct, threshold) == level


def test_at_most_one_open_escalation_per_baseline_is_enforced_by_the_database():
    baseline = f.baseline()
    fields = {"baseline": baseline, "level": "critical", "message": "x", "source": "manual",
              "opened_at": DAY0, "red_since": DAY0}  # fmt: skip
    Escalation.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(**{**fields, "status": Escalation.Status.ACKNOWLEDGED})
    # a resolved one does not count
    Escalation.objects.create(**{**fields, "status": Escalation.Status.RESOLVED})
    assert Escalation.objects.count() == 2


def test_a_breach_opens_a_critical_escalation_with_the_deviation_as_evidence():
    ef.kpi_alerts_and_tickets()
    baseline = f.baseline(name="avg_wait_days", probe_query="SELECT 37.2")
    deviation = services.run_baseline(baseline, at=DAY0)
    escalation = Escalation.objects.get()
    assert escalation.level == "critical"
    assert escalation.deviation == deviation
    assert escalation.red_since == DAY0
    assert escalation.source == Escalation.Source.WATCHDOG
    assert "avg_wait_days is 37.2, promised ≤ 30: off by 24.0 %" in escalation.message
    keys = sorted(Notification.objects.values_list("dedupe_key", flat=True))
    assert len(keys) == 2 and all(
        k.startswith(f"apm.escalation:{escalation.pk}:critical:") for k in keys
    )


def test_a_repeated_breach_updates_the_open_escalation_and_sends_nothing_new():
    ef.kpi_alerts_and_tickets()
    baseline = f.baseline(probe_query="SELECT 37.2")
    services.run_baseline(baseline, at=DAY0)
    latest = services.run_baseline(baseline, at=DAY0 + timedelta(days=1))
    escalation = Escalation.objects.get()
    assert escalation.breach_count == 2
    assert escalation.deviation == latest
    assert escalation.red_since == DAY0
    assert Notification.objects.count() == 2


def test_within_tolerance_opens_nothing():
    ef.kpi_alerts_and_tickets(min_level="info")
    baseline = f.baseline(probe_query="SELECT 33")  # +10 %: warning level, but not a breach
    services.run_baseline(baseline)
    assert not Escalation.objects.exists()
    assert not Notification.objects.exists()


def test_no_data_is_red_and_escalates():
    baseline = f.baseline(probe_query="SELECT NULL")
    services.run_baseline(baseline)
    escalation = Escalation.objects.get()
    assert escalation.level == "critical"
    assert "no measurement" in escalation.message


def test_back_to_ok_resolves_automatically_and_says_so():
    baseline = f.baseline(probe_query="SELECT 37.2")
    services.run_baseline(baseline, at=DAY0)
    ef.set_probe(baseline, 29)
    ok = services.run_baseline(baseline, at=DAY0 + timedelta(days=1))
    escalation = Escalation.objects.get()
    assert escalation.status == Escalation.Status.RESOLVED
    assert escalation.auto_resolved and escalation.resolved_by is None
    assert (
        "Resolved automatically: " in escalation.note and f"deviation #{ok.pk}" in escalation.note
    )
    entry = AuditEntry.objects.filter(topic="apm.escalation").last()
    assert entry.payload["change"] == "resolved automatically"
    assert entry.payload["ok_deviation"] == ok.pk
    # red again: a new escalation, a new streak
    ef.set_probe(baseline, 40)
    services.run_baseline(baseline, at=DAY0 + timedelta(days=2))
    assert Escalation.objects.open().get().red_since == DAY0 + timedelta(days=2)


def test_a_duplicate_scheduled_delivery_does_not_escalate_again():
    baseline = f.baseline(probe_query="SELECT 37.2")
    first = services.run_scheduled(baseline.pk, now=DAY0)
    again = services.run_scheduled(baseline.pk, now=DAY0 + timedelta(seconds=5))
    assert again == first
    assert Escalation.objects.get().breach_count == 1
    assert AuditEntry.objects.filter(topic="apm.escalation").count() == 1


def test_routes_pick_channels_by_program_and_level(staff_alice):
    housing, transit = f.program(), f.program()
    everyone = ef.route(ef.make_channel("kpi-alerts", "slack", "#kpi-alerts"), min_level="critical")
    housing_warnings = ef.route(
        ef.make_channel("housing-desk", "email", "desk@example.org"),
        program=housing,
        min_level="info",
    )
    ef.route(
        ef.make_channel("transit-desk", "email", "t@example.org"), program=transit, min_level="info"
    )
    warning, _ = escalations.send(f.baseline(housing), "look at this", "warning", actor=staff_alice)
    assert [r.pk for r in escalations.routes_for(warning)] == [housing_warnings.pk]
    critical, _ = escalations.send(f.baseline(transit), "bad", "critical", actor=staff_alice)
    assert {r.channel.name for r in escalations.routes_for(critical)} == {
        everyone.channel.name,
        "transit-desk",
    }


def test_manual_send_opens_then_merges_and_only_a_higher_level_is_announced(staff_alice):
    ef.kpi_alerts_and_tickets(min_level="info")
    baseline = f.baseline()
    first, created = escalations.send(baseline, "queue growing", "warning", actor=staff_alice)
    assert created and first.source == Escalation.Source.MANUAL
    assert Notification.objects.count() == 2
    same, created = escalations.send(baseline, "still growing", "info", actor=staff_alice)
    assert not created and same.pk == first.pk
    assert same.level == "warning" and same.message == "still growing"
    assert Notification.objects.count() == 2
    raised, _ = escalations.send(baseline, "now it is bad", "critical", actor=staff_alice)
    assert raised.level == "critical"
    assert Notification.objects.count() == 4
    changes = list(
        AuditEntry.objects.filter(topic="apm.escalation").values_list("payload__change", "actor")
    )
    assert changes == [
        ("opened", "staff_alice"),
        ("updated", "staff_alice"),
        ("raised", "staff_alice"),
    ]


def test_acknowledge_then_resolve_by_hand_closes_its_tickets(staff_alice):
    baseline = f.baseline(probe_query="SELECT 37.2")
    services.run_baseline(baseline)
    escalation = Escalation.objects.get()
    ticket = Ticket.objects.create(
        kind="escalation", title="t", escalation=escalation, baseline=baseline,
        dedupe_key="k", created_at=timezone.now(),
    )  # fmt: skip
    escalations.acknowledge(escalation, actor=staff_alice, note="on it")
    escalation.refresh_from_db()
    assert escalation.status == "acknowledged" and escalation.acknowledged_by == staff_alice
    escalations.resolve(escalation, actor=staff_alice, note="added two case workers")
    escalation.refresh_from_db()
    assert escalation.status == "resolved" and escalation.resolved_by == staff_alice
    assert escalation.note == "on it\nadded two case workers"
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    with pytest.raises(escalations.NotOpen):
        escalations.resolve(escalation, actor=staff_alice)
