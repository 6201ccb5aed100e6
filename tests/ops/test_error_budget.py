"""Error budgets and multi-window burn-rate alerts (Google SRE workbook), scaled to the window."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apm.models import Ticket
from ops.budget import evaluate as budget
from ops.budget import windows
from ops.models import SLO, ActionRun, Incident, Notification
from ops.outbox.services import deliver
from ops.playbook import runner
from ops.servicedef import DefinitionError, parse_definition
from ops.services import register_service
from tests.factories import api_client, make_channel, readings, viewer_bob
from tests.support.slack import TOKEN, FakeSlack

pytestmark = pytest.mark.django_db

# 30 h instead of 30 d: every workbook window shrinks 24x (1 h -> 150 s, 5 min -> 12.5 s,
# 6 h -> 15 min, 30 min -> 75 s, 1 d -> 1 h, 2 h -> 5 min, 3 d -> 3 h).
PORTAL = """\
id: Benefits_Portal
owner: VA
sensors:
  - name: request_latency_seconds
slo:
  target: request_latency_seconds
  threshold: 1
  window_seconds: 300
  objective: 99
  budget_window: 30h
playbook:
  - if: fast_burn
    then: page tsa_ops
  - if: slow_burn
    then: page tickets
"""
GOOD, BAD = 0.2, 3.0


@pytest.fixture
def slack(settings):
    with FakeSlack() as server:
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = server.api_url
        make_channel("tsa_ops", "slack", "#tsa_ops")
        make_channel("tickets", "ticket", "escalation")
        yield server


def portal():
    return register_service(PORTAL).service


def trickle(end, *, seconds, every, bad_every):
    """A sample every ``every`` s for ``seconds``; each ``bad_every``-th from the end is bad."""
    count = int(seconds // every)
    values = [BAD if (count - 1 - i) % bad_every == 0 else GOOD for i in range(count)]
    return readings("Benefits_Portal", values, end=end, step=every, name="request_latency_seconds")


def run_and_deliver(incident):
    for run in ActionRun.objects.filter(incident=incident, status="pending"):
        assert runner.execute(run.pk) == "succeeded"
    for notification in Notification.objects.filter(status="pending"):
        deliver(notification.pk)


# --- arithmetic -----------------------------------------------------------------------


def test_workbook_windows_scale_with_the_budget_window():
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert windows.scale("30d", at) == 1
    assert windows.scale("30h", at) == pytest.approx(1 / 24)
    assert windows.bounds("30h", at) == (at - timedelta(hours=30), 30 * 3600.0)


def test_calendar_windows_start_at_the_period_and_count_its_whole_length():
    at = datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert windows.bounds("month", at) == (datetime(2026, 11, 1, tzinfo=UTC), 30 * 86400.0)
    start, length = windows.bounds("quarter", at)
    assert start == datetime(2026, 10, 1, tzinfo=UTC)
    assert length == 92 * 86400  # October + November + December
    assert windows.bounds("quarter", datetime(2027, 1, 1, tzinfo=UTC))[0].month == 1


def test_budget_arithmetic_by_hand():
    # 99 % objective: 1 % of 1,000 samples may be bad = 10. 4 bad: 6 left of 10 = 60 %.
    left, minutes = windows.remaining(1000, 4, 99, 30 * 86400)
    assert left == pytest.approx(0.6)
    # 1 % of 30 days = 432 minutes of budget; 60 % of it is left.
    assert minutes == pytest.approx(259.2)
    assert windows.burn_rate(1000, 4, 99) == pytest.approx(0.4)
    assert windows.remaining(0, 0, 99, 3600) == (1.0, pytest.approx(0.6))  # starts at 100 %
    assert windows.remaining(100, 3, 99, 3600)[0] == pytest.approx(-2.0)  # overspent


@pytest.mark.parametrize(
    ("burns", "expected"),
    [
        ({3600: 15, 300: 15}, {"fast_burn"}),
        ({3600: 15, 300: 2}, set()),  # the burst is over: the short window stops it
        ({21600: 7, 1800: 7}, {"fast_burn"}),
        ({86400: 3.5, 7200: 3.5}, {"slow_burn"}),
        ({259200: 1.2, 21600: 1.2}, {"slow_burn"}),
        ({259200: 1.2, 21600: 0.9}, set()),
    ],
)
def test_multi_window_rules(burns, expected):
    assert windows.firing({w: burns.get(w, 0.0) for w in windows.ALERT_WINDOWS}) == expected


# --- the .ops.yaml ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ("  objective: 99", "  objective: 100", "slo.objective"),
        ("  objective: 99", "  objective: 0", "slo.objective"),
        ("  budget_window: 30h", "  budget_window: 30x", "slo.budget_window"),
        ("  budget_window: 30h", "  budget_window: 5m", "slo.budget_window"),
        ("  objective: 99\n", "", "slo.budget_window"),  # a window without an objective
    ],
)
def test_bad_budget_settings_are_refused_naming_the_field_and_line(change, field, message):
    with pytest.raises(DefinitionError) as caught:
        parse_definition(PORTAL.replace(change, field))
    assert message in caught.value.errors
    assert all(m.startswith("line ") for m in caught.value.errors[message])


def test_burn_conditions_need_an_objective():
    text = PORTAL.replace("  objective: 99\n  budget_window: 30h\n", "")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    assert any("needs an error budget" in m for m in caught.value.errors["playbook[0].if"])


def test_an_objective_alone_means_a_30_day_rolling_budget():
    text = PORTAL.replace("  budget_window: 30h\n", "")
    assert parse_definition(text).slo.budget_window == "30d"


# --- the status API and the tick ---------------------------------------------------


def test_status_reports_the_budget_as_computed_by_hand(slack):
    service = portal()
    now = timezone.now()
    # 400 samples over the last 4 h, every 50th bad: 8 bad of 400 = 2 % against a 1 % budget.
    trickle(now, seconds=4 * 3600, every=36, bad_every=50)
    body = api_client(viewer_bob()).get(f"/api/v1/services/{service.id}/status/").json()
    error_budget = body["error_budget"]
    assert (error_budget["events"], error_budget["bad_events"]) == (400, 8)
    assert error_budget["objective"] == 99
    assert error_budget["window"] == "30h"
    assert error_budget["remaining_pct"] == pytest.approx(-100.0)  # spent twice over
    assert error_budget["remaining_minutes"] == pytest.approx(-18.0)  # -1 x 1 % x 1,800 min
    rates = {r["window"]: r["burn_rate"] for r in error_budget["burn_rates"]}
    assert set(rates) == {"12.5s", "75s", "150s", "5m", "15m", "1h", "3h"}
    assert rates["3h"] == pytest.approx(2.0, rel=0.05)


def test_status_without_an_objective_has_no_budget(slack):
    service = register_service(
        PORTAL.replace("  objective: 99\n  budget_window: 30h\n", "").split("playbook:")[0]
    ).service
    body = api_client(viewer_bob()).get(f"/api/v1/services/{service.id}/status/").json()
    assert "error_budget" not in body


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_bad_samples_opens_one_fast_burn_incident_and_pages_once(slack):
    service = portal()
    now = timezone.now()
    trickle(now - timedelta(seconds=200), seconds=3 * 3600, every=10, bad_every=10_000)
    # the burst: 3 minutes, every sample bad (burn 100x over 150 s and over 12.5 s)
    trickle(now, seconds=180, every=2, bad_every=1)

    assert budget.evaluate(now) == 1  # fast_burn; the slow rule holds too, but is inhibited
    (incident,) = Incident.objects.filter(service=service)
    assert incident.condition == "fast_burn"
    assert [r.action for r in incident.actions.all()] == ["page"]
    run_and_deliver(incident)
    assert len(slack.messages) == 1

    assert budget.evaluate(now + timedelta(seconds=5)) == 0  # the next tick: nothing new
    assert Incident.objects.filter(service=service).count() == 1
    assert len(slack.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_a_steady_trickle_opens_one_slow_burn_ticket(slack):
    service = portal()
    now = timezone.now()
    # 5 % of samples bad for 3 hours: burn 5x (slow: 3x over 1 h and 5 min); never 14.4x
    trickle(now, seconds=3 * 3600, every=10, bad_every=20)

    assert budget.evaluate(now) == 1
    (incident,) = Incident.objects.filter(service=service)
    assert incident.condition == "slow_burn"
    run_and_deliver(incident)
    assert Ticket.objects.count() == 1
    assert len(slack.messages) == 0  # a ticket, not a page

    assert budget.evaluate(now + timedelta(seconds=5)) == 0
    run_and_deliver(incident)
    assert Ticket.objects.count() == 1


def test_the_incident_resolves_when_the_burn_stops(slack):
    service = portal()
    now = timezone.now()
    trickle(now, seconds=180, every=2, bad_every=1)
    assert budget.evaluate(now) == 1
    # 20 minutes all good again: every short window (at most 15 min here) is clean.
    later = now + timedelta(minutes=20)
    trickle(later, seconds=20 * 60, every=2, bad_every=10_000)
    assert budget.evaluate(later) == 1
    assert Incident.objects.get(service=service).state == "resolved"


def test_one_statement_per_budget_window_whatever_the_number_of_slos(
    slack, django_assert_num_queries
):
    for i in range(20):
        register_service(PORTAL.replace("Benefits_Portal", f"Portal_{i}"))
    from ops.models import SLO

    slos = list(SLO.objects.all())
    with django_assert_num_queries(1):
        counted = budget.counts(slos, timezone.now())
    assert len(counted) == 20


def test_the_slo_tick_itself_opens_the_burn_incident(slack):
    from ops.tasks import evaluate_slos

    service = portal()
    now = timezone.now()
    trickle(now, seconds=180, every=2, bad_every=1)
    result = evaluate_slos(now.timestamp())
    assert result["burn_changes"] == 1
    assert Incident.objects.get(service=service, condition="fast_burn").state == "open"


def test_the_war_room_tile_shows_the_budget_left(client, slack):
    from ops import pages

    portal()
    now = timezone.now()
    trickle(now, seconds=4 * 3600, every=36, bad_every=200)  # 2 bad of 400: 0.5 % of 1 %
    client.force_login(viewer_bob())
    html = client.get("/war-room/").content.decode()
    assert "error budget 50.0 % left (9 min of 30h)" in html
    state = client.get("/war-room/state.json").json()
    (slo,) = [s for tile in state["tiles"] for s in tile["slos"]]
    assert slo["budget_text"] == "error budget 50.0 % left (9 min of 30h)"
    assert pages.budget_text(SLO.objects.get(), None, now) == ""
