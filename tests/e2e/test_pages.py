"""The pages in a real browser: war room updates itself, dashboard evidence, public scorecard."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ops import slo
from ops.services import register_service
from tests import factories as f
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.services

SCANNER = (
    "id: {id}\nowner: {owner}\nsensors:\n  - name: queue_time_seconds\n"
    "slo:\n  target: queue_time_seconds\n  threshold: 30\n  window_seconds: 300\n"
    "  min_samples: 3\n"  # the tiles below are judged on 3 and 4 readings
)


def log_in(page, username, password, next_url):
    """The pages' own login (the admin's refuses people who are not staff)."""
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def _no_csp_violations(page):
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
    )
    return violations


def test_a_breaching_batch_sent_through_the_api_turns_its_tile_red_without_a_reload(
    page, django_user_model
):
    django_user_model.objects.create_user("viewer_bob", "bob@example.org", "s3cret-pass")
    key = register_service(SCANNER.format(id="DCA_Luggage_Scanner", owner="TSA")).ingest_key
    register_service(SCANNER.format(id="LGA_Luggage_Scanner", owner="TSA"))
    f.readings("DCA_Luggage_Scanner", [10, 12, 11, 9])
    f.readings("LGA_Luggage_Scanner", [8, 9, 7])
    slo.evaluate_all()
    violations = _no_csp_violations(page)

    log_in(page, "viewer_bob", "s3cret-pass", "/war-room/")
    tile = page.locator("#tile-DCA_Luggage_Scanner")
    expect(tile.locator("[data-role=state]")).to_have_text("healthy")
    expect(tile.locator(".uplot")).to_have_count(1)  # the graph is drawn
    page.evaluate("window.__notReloaded = true")
    screenshot(page, "war-room-healthy")

    now = timezone.now()
    batch = {
        "samples": [
            {
                "service": "DCA_Luggage_Scanner",
                "name": "queue_time_seconds",
                "value": 95.0,
                "ts": (now - timedelta(seconds=i)).isoformat(),
            }
            for i in range(20)
        ]
    }
    answer = page.request.post(
        "/api/v1/metrics/",
        data=json.dumps(batch),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.text()
    slo.evaluate_all()  # what beat does every few seconds

    expect(tile.locator("[data-role=state]")).to_have_text("breached", timeout=10_000)
    expect(tile).to_have_class("card tile state-card-breached")
    expect(tile.locator("[data-role=value]")).to_have_text("95")
    expect(page.locator("#tile-LGA_Luggage_Scanner [data-role=state]")).to_have_text("healthy")
    assert page.evaluate("window.__notReloaded") is True
    assert violations == []
    screenshot(page, "war-room")

    page.select_option("select[name=slo_state]", "breached")
    page.click("text=Filter")
    page.wait_for_url("**slo_state=breached**")
    expect(page.locator("section.tile")).to_have_count(1)


def test_dashboard_and_baseline_page_show_why_it_is_red(page, django_user_model):
    housing = f.group("Housing staff")
    staff = django_user_model.objects.create_user(
        "staff_alice", "alice@example.org", "s3cret-pass", is_staff=True
    )
    staff.groups.add(housing)
    program = f.program(
        name="Fast-Track Housing Voucher",
        owner_group=housing,
        authority="Fast-Track Housing Voucher Act §4(b)",
    )
    wait = f.ledger_baseline(program, name="housing_wait_days", target_value=14)
    for days, actual in enumerate([13, 12, 15, 14, 16]):
        f.deviation(wait, actual, days_ago=(7 - days) * 10)
    f.slack_route(program)
    f.escalated(wait, 18, days_ago=10)
    f.escalated(wait, 21, computation="(21 - 14) / 14 * 100 = 50")
    f.leadership_ticket(wait, "Housing wait over target for 10 days: leadership review")
    f.program(name="Transit Subsidy", owner_group=f.group("Transit staff"))
    violations = _no_csp_violations(page)

    log_in(page, "staff_alice", "s3cret-pass", "/dashboard/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("text=Transit Subsidy")).to_have_count(0)
    expect(page.locator(".uplot")).to_have_count(1)
    escalations = page.locator("section[aria-labelledby=escalations-title]")
    expect(escalations).to_contain_text("housing_wait_days")
    expect(escalations).to_contain_text("1\u00a0week, 3\u00a0days")
    expect(page.locator("section[aria-labelledby=tickets-title]")).to_contain_text(
        "leadership review"
    )
    screenshot(page, "dashboard")

    page.click("text=housing_wait_days")
    page.wait_for_url(f"**/dashboard/baselines/{wait.pk}/")
    evidence = page.locator("#evidence")
    expect(evidence).to_contain_text(f.SECRET_QUERY)
    expect(evidence).to_contain_text("(21 - 14) / 14 * 100 = 50")
    expect(page.locator("#history tbody tr")).to_have_count(7)
    expect(page.locator("#notifications")).to_contain_text("kpi-alerts")
    expect(page.locator(".uplot")).to_have_count(1)
    assert violations == []
    screenshot(page, "baseline")


def test_the_public_scorecard_logged_out_shows_only_public_programs(page):
    public = f.program(name="Fast-Track Housing Voucher", public=True, owner_group=None)
    wait = f.ledger_baseline(public, name="housing_wait_days", target_value=14)
    for days, actual in enumerate([12, 13, 15, 16]):
        f.deviation(wait, actual, days_ago=(4 - days) * 15)
    f.program(name="Internal Audit Backlog", public=False, owner_group=None)
    violations = _no_csp_violations(page)

    page.goto("/")
    page.wait_for_url("**/public/")
    expect(page.locator("h1")).to_have_text("Public scorecard")
    expect(page.locator("text=Fast-Track Housing Voucher")).to_have_count(1)
    expect(page.locator("text=Internal Audit Backlog")).to_have_count(0)
    expect(page.locator("text=" + f.SECRET_QUERY)).to_have_count(0)
    expect(page.locator(".uplot")).to_have_count(1)
    assert violations == []
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot(page, "public")
