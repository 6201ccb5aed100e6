"""The public scorecard's eight quarter bars (kept / missed / no data / maintenance), the
current value against the promise, and the executive dashboard's summary strip."""

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from apm import explanations, scorecard
from apm.models import Deviation, Explanation
from apm.review.quarters import Quarter
from tests import factories as f

pytestmark = pytest.mark.django_db


def at_days_into(quarter: Quarter, days: float):
    return (timezone.now() - (quarter.start + timedelta(days=days))).total_seconds() / 86400


def measured(baseline, quarter: Quarter, values):
    for i, value in enumerate(values):
        f.deviation(baseline, value, days_ago=at_days_into(quarter, 2 + i))


def this_quarter(baseline, values):
    """Measured in the last hours (in the current quarter unless it began hours ago)."""
    for i, value in enumerate(values):
        f.deviation(baseline, value, days_ago=0.01 * (i + 1))


@pytest.fixture
def public_housing():
    program = f.program(code="fast-track", name="Fast-Track Housing", public=True)
    wait = f.ledger_baseline(program, name="avg_wait_days", target_value=30)
    now = Quarter.containing(timezone.now())
    two_ago, last = now.previous().previous(), now.previous()
    measured(wait, two_ago, [25, 26, 24])  # kept
    measured(wait, last, [45, 44, 46])  # missed
    f.deviation(wait, 24, days_ago=0.01)  # this quarter so far: kept; the current value
    return program, wait, two_ago, last, now


def bars_of(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-state="(\w+)" data-quarter="(\d{4}Q\d)"', html)


def test_eight_quarters_kept_missed_and_no_data_with_a_sentence_each(client, public_housing):
    _, _, two_ago, last, now = public_housing
    html = client.get("/public/").content.decode()  # logged out
    bars = bars_of(html)
    assert len(bars) == 8
    assert bars[-3:] == [("kept", str(two_ago)), ("missed", str(last)), ("kept", str(now))]
    assert {state for state, _ in bars[:-3]} == {"no_data"}
    assert f"{two_ago}: kept — average 25 against at most 30 (3 measurements)." in html
    assert f"{last}: missed — average 45 against at most 30 (3 measurements), " in html
    assert "no explanation given yet." in html
    assert f"{now} (so far): kept — average 24 against at most 30 (1 measurement)." in html
    never = now.previous().previous().previous()
    assert f"{never}: no data — the promise was not measured." in html
    assert "Latest value <strong>24</strong> against the promise of ≤ 30: within it" in html


def test_a_missed_quarter_says_explained_once_staff_explain_it(client, public_housing):
    program, wait, _, last, _ = public_housing
    alice = f.staff_user("staff_alice", program.owner_group)
    explanations.save(
        Explanation(baseline=wait, period=str(last), why="Two caseworkers left.",
                    plan="Hire two.", due_date="2030-12-31"),
        actor=alice,
    )  # fmt: skip
    html = client.get("/public/").content.decode()
    assert f"{last}: missed — average 45 against at most 30 (3 measurements), explained" in html
    assert "Two caseworkers left." in html


def test_private_programs_have_no_bars(client):
    private = f.program(public=False)
    this_quarter(f.ledger_baseline(private), [1, 2])
    assert bars_of(client.get("/public/").content.decode()) == []


def test_a_quarter_all_in_maintenance_is_shown_as_maintenance_not_judged():
    wait = f.ledger_baseline(f.program(public=True), target_value=30)
    q = "2026Q3"
    all_maintenance = scorecard._bar(wait, q, {"evaluations": 0, "mean": None, "maintenance": 5},
                                     False, set())  # fmt: skip
    part = scorecard._bar(wait, q, {"evaluations": 2, "mean": 50.0, "maintenance": 3}, False, set())
    assert all_maintenance.state == "maintenance"
    assert all_maintenance.text(wait) == "2026Q3: under maintenance — not judged."
    assert part.state == "missed" and "3 in maintenance left out" in part.text(wait)
    html = render_to_string(
        "apm/_bars.html", {"bars": [{"bar": all_maintenance, "text": all_maintenance.text(wait)}]}
    )
    assert 'data-state="maintenance"' in html and "bar-maintenance" in html and "⚒" in html
    assert '<span class="visually-hidden">2026Q3: under maintenance — not judged.</span>' in html


def test_runs_in_maintenance_make_a_maintenance_bar_on_the_public_page(client, public_housing):
    _, wait, two_ago, _, _ = public_housing
    earlier = two_ago.previous()
    measured(wait, earlier, [80, 90])
    Deviation.objects.filter(baseline=wait, evaluated_at__lt=two_ago.start).update(
        in_maintenance=True
    )
    Deviation.objects.filter(
        baseline=wait, evaluated_at__gte=two_ago.start, evaluated_at__lt=two_ago.end, actual=26
    ).update(in_maintenance=True)
    html = client.get("/public/").content.decode()
    assert ("maintenance", str(earlier)) in bars_of(html)
    assert f"{earlier}: under maintenance — not judged." in html
    assert (
        f"{two_ago}: kept — average 24.5 against at most 30 (2 measurements; "
        "1 in maintenance left out)." in html
    )


def test_the_summary_strip_counts_programs_and_escalations_by_age(client):
    staff = f.group("Housing staff")
    alice = f.staff_user("staff_alice", staff)
    now = Quarter.containing(timezone.now())
    kept_program = f.program(owner_group=staff)
    this_quarter(f.ledger_baseline(kept_program, target_value=30), [25, 25, 25])
    off = f.program(owner_group=staff)
    off_baseline = f.ledger_baseline(off, target_value=30)
    this_quarter(off_baseline, [50, 50, 50])
    f.escalated(off_baseline, 50)
    other = f.ledger_baseline(f.program(owner_group=staff), target_value=30)
    f.escalated(other, 60, days_ago=10)
    f.program(owner_group=f.group("Transit staff"))  # not hers: not counted
    client.force_login(alice)
    html = client.get("/dashboard/").content.decode()
    strip = html[html.index('id="summary-title"') : html.index("exec-layout")]
    assert f"This quarter ({now}) at a glance" in strip
    assert re.search(r'data-state="off_track"><strong>1</strong> off track', strip)
    assert re.search(r'data-state="kept"><strong>1</strong> kept', strip)
    assert re.search(r'data-state="insufficient_data"><strong>1</strong> not enough data', strip)
    assert re.search(r'data-age="day"><strong>1</strong> under a day', strip)
    month = r'data-age="month" class="state-at_risk"><strong>1</strong> 7 to 30 days'
    assert re.search(month, strip)
    assert re.search(r'data-age="older"><strong>0</strong> over 30 days', strip)


def test_the_current_quarter_follows_its_review_kept_so_far_but_heading_for_a_miss(client):
    program = f.program(public=True)
    rising = f.ledger_baseline(program, name="approval_days", target_value=30)
    for i, value in enumerate([20, 24, 28, 32]):  # mean 26 (kept), rising fast
        f.deviation(rising, value, days_ago=0.04 - 0.01 * i)
    html = client.get("/public/").content.decode()
    now = Quarter.containing(timezone.now())
    assert bars_of(html)[-1] == ("at_risk", str(now))
    assert f"{now} (so far): at risk — average 26 against at most 30 (4 measurements), heading" in (
        html
    )
