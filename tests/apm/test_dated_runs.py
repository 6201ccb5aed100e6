"""``baselines/{id}/run/`` with ``at``: bounded ahead by HMS_CLOCK_SKEW_SECONDS; a past one
is a backfill that the ledger keeps and that changes no escalation and no "latest"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import services
from apm.models import Baseline, Deviation, Escalation
from ops.models import AuditEntry, Notification
from tests import factories as f


def run(api, user, baseline, at):
    body = {} if at is None else {"at": at}
    return api(user).post(f"/api/v1/baselines/{baseline.pk}/run/", body, format="json")


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def escalation_state(escalation: Escalation) -> dict:
    escalation.refresh_from_db()
    fields = ("level", "status", "breach_count", "red_since", "last_red_at", "deviation_id")
    return {name: getattr(escalation, name) for name in (*fields, "message", "updated_at")}


@pytest.mark.parametrize("ahead", [timedelta(seconds=360), timedelta(days=1), timedelta(days=3650)])
def test_a_run_dated_beyond_the_clock_skew_is_a_400_naming_at_and_writes_nothing(
    api, staff_alice, ahead
):
    baseline = f.baseline()
    response = run(api, staff_alice, baseline, iso(timezone.now() + ahead))
    assert response.status_code == 400
    assert "HMS_CLOCK_SKEW_SECONDS" in response.json()["at"][0]
    assert not Deviation.objects.exists()
    assert not Escalation.objects.exists()


def test_the_skew_is_a_setting(api, staff_alice, settings):
    settings.HMS_CLOCK_SKEW_SECONDS = 30
    baseline = f.baseline()
    assert (
        run(api, staff_alice, baseline, iso(timezone.now() + timedelta(seconds=90))).status_code
        == 400
    )
    settings.HMS_CLOCK_SKEW_SECONDS = 3600
    assert (
        run(api, staff_alice, baseline, iso(timezone.now() + timedelta(seconds=90))).status_code
        == 201
    )


def test_a_run_dated_ahead_within_the_skew_is_evaluated_now_and_never_stored_in_the_future(
    api, staff_alice
):
    baseline = f.baseline()
    response = run(api, staff_alice, baseline, iso(timezone.now() + timedelta(seconds=240)))
    assert response.status_code == 201
    deviation = Deviation.objects.get()
    assert deviation.trigger == Deviation.Trigger.API
    assert deviation.evaluated_at <= deviation.recorded_at
    assert Escalation.objects.get().breach_count == 1  # a live run: it escalates


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
        "2026-01-01T02:00:00",  # no time zone
        "2026-13-45T00:00:00Z",
        "tonight",
        "",
        "2026-01-01T02:00:00Z\x00",
        "9" * 5000,
        12345,
        ["2026-01-01T02:00:00Z"],
        {"at": "2026-01-01T02:00:00Z"},
    ],
)
def test_absurd_or_unreadable_times_are_400s_naming_at(api, staff_alice, at):
    baseline = f.baseline()
    response = api(staff_alice).post(
        f"/api/v1/baselines/{baseline.pk}/run/", {"at": at}, format="json"
    )
    assert response.status_code == 400, response.content[:300]
    assert "at" in response.json()
    assert not Deviation.objects.exists()


def test_a_past_dated_run_is_a_backfill_and_leaves_the_live_escalation_as_it_was(api, staff_alice):
    f.kpi_alerts_and_tickets()
    baseline = f.baseline()  # SELECT 37.2 against ≤ 30: a breach
    assert run(api, staff_alice, baseline, None).status_code == 201
    escalation = Escalation.objects.get()
    before = escalation_state(escalation)
    audited = AuditEntry.objects.filter(topic="apm.escalation").count()
    notified = Notification.objects.count()

    f.set_probe(baseline, 25)  # back within the promise: a live run would resolve it
    ok = run(api, staff_alice, baseline, iso(timezone.now() - timedelta(days=2)))
    f.set_probe(baseline, 99)  # far worse: a live run would count it again
    red = run(api, staff_alice, baseline, iso(timezone.now() - timedelta(hours=1)))

    assert (ok.status_code, red.status_code) == (201, 201)
    assert ok.json()["trigger"] == red.json()["trigger"] == "backfill"
    assert (ok.json()["status"], red.json()["status"]) == ("ok", "breach")
    assert escalation_state(escalation) == before
    assert before["status"] == "open" and before["breach_count"] == 1
    assert Escalation.objects.count() == 1
    assert AuditEntry.objects.filter(topic="apm.escalation").count() == audited
    assert Notification.objects.count() == notified
    stored = Deviation.objects.filter(trigger=Deviation.Trigger.BACKFILL)
    assert stored.count() == 2


def test_a_backfill_never_opens_an_escalation(api, staff_alice):
    baseline = f.baseline()
    response = run(api, staff_alice, baseline, iso(timezone.now() - timedelta(days=30)))
    assert response.status_code == 201 and response.json()["status"] == "breach"
    assert not Escalation.objects.exists()


def test_a_backfill_newer_than_the_latest_live_run_is_not_the_latest(api, staff_alice, client):
    program = f.program(code="fast-track-housing", public=True)
    baseline = f.baseline(program, name="avg_wait_days")  # 37.2: breach
    services.run_baseline(
        baseline, at=timezone.now() - timedelta(hours=3), trigger=Deviation.Trigger.COMMAND
    )
    f.set_probe(baseline, 25)
    backfill = run(api, staff_alice, baseline, iso(timezone.now() - timedelta(hours=1)))
    assert backfill.json()["trigger"] == "backfill" and backfill.json()["status"] == "ok"

    latest = Baseline.objects.with_latest_deviation().get(pk=baseline.pk)
    assert latest.latest_status == "breach"
    body = api(staff_alice).get(f"/api/v1/baselines/{baseline.pk}/").json()
    assert body["latest_status"] == "breach"
    client.force_login(staff_alice)
    page = client.get(f"/dashboard/baselines/{baseline.pk}/")
    assert page.context["latest"].trigger == Deviation.Trigger.COMMAND
    public = client.get("/public/")
    (row,) = public.context["programs"][0]["baselines"]
    assert row["status"] == "breach"


def test_escalate_send_takes_its_red_streak_from_the_latest_live_run_not_a_backfill(
    api, staff_alice
):
    from apm import escalations

    baseline = f.baseline()
    f.set_probe(baseline, 25)
    services.run_baseline(
        baseline, at=timezone.now() - timedelta(hours=3), trigger=Deviation.Trigger.COMMAND
    )  # ok: opens nothing
    f.set_probe(baseline, 99)
    backfill = run(api, staff_alice, baseline, iso(timezone.now() - timedelta(hours=1)))
    assert backfill.json()["status"] == "breach" and not Escalation.objects.exists()

    escalation, created = escalations.send(baseline, "by hand", actor="staff")
    assert created
    assert escalation.deviation is None  # the latest live run is ok: no red evidence
    assert escalation.red_since > timezone.now() - timedelta(minutes=1)


def test_the_watchdog_command_refuses_a_far_future_at_and_replays_a_past_one(db):
    from django.core.management import CommandError, call_command

    baseline = f.baseline()
    with pytest.raises(CommandError, match="HMS_CLOCK_SKEW_SECONDS"):
        call_command("watchdog_run", "--baseline", str(baseline.pk), "--at", "9999-01-01T00:00Z")
    assert not Deviation.objects.exists()
    call_command(
        "watchdog_run",
        "--baseline",
        str(baseline.pk),
        "--at",
        iso(timezone.now() - timedelta(days=1)),
    )
    replay = Deviation.objects.get()
    assert replay.trigger == Deviation.Trigger.COMMAND  # the operator's replay escalates
    assert Escalation.objects.get().breach_count == 1
