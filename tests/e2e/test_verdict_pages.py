"""Insufficient data and maintenance in a real browser: grey, named, and the span shown."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apm import maintenance
from apm.models import Deviation
from tests import factories as f
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.services


def test_baseline_page_and_scorecard_show_insufficient_data_grey_and_maintenance(
    page, django_user_model
):
    housing = f.group("Housing staff")
    staff = django_user_model.objects.create_user(
        "staff_alice", "alice@example.org", "s3cret-pass", is_staff=True
    )
    staff.groups.add(housing)
    program = f.program(name="Fast-Track Housing Voucher", owner_group=housing, public=True)
    wait = f.baseline(
        program,
        clean=False,  # no such OPS service here; the page reads only what is stored
        name="housing_wait_days",
        target_value=14,
        probe_kind="metric",
        probe_query='avg(wait_days{service="Housing_Ledger"}[1d])',
        min_samples=5,
    )
    for days, actual in enumerate([13, 12, 15, 14, 16, 13]):
        f.deviation(wait, actual, days_ago=(9 - days) * 8)
    now = timezone.now()
    maintenance.create_window(
        program=program,
        starts_at=now - timedelta(days=20),
        ends_at=now - timedelta(days=15),
        reason="ledger migration",
        actor="test",
    )
    quiet = f.deviation(wait, 40, days_ago=18)  # measured inside the window
    Deviation.objects.filter(pk=quiet.pk).update(in_maintenance=True)
    latest = f.deviation(wait, 13.5, days_ago=0)
    Deviation.objects.filter(pk=latest.pk).update(
        status=Deviation.Status.INSUFFICIENT_DATA,
        sample_count=2,
        evidence={**latest.evidence, "insufficient_data": "2 sample(s), the baseline needs 5"},
    )

    page.goto("/login/?next=/dashboard/")
    page.fill("#id_username", "staff_alice")
    page.fill("#id_password", "s3cret-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    # The strip's count reads "0 not enough data": the badge's "…" is not put before it.
    count = page.locator('.strip [data-state="insufficient_data"]')
    expect(count).to_have_text("0 not enough data")
    assert count.evaluate("e => getComputedStyle(e, '::before').content") == "none"
    page.goto(f"/dashboard/baselines/{wait.pk}/")
    expect(page.locator("#evidence-title")).to_have_text("Latest evidence")  # not "red"
    grey = page.locator("#evidence-title + p .state-insufficient_data")
    expect(grey).to_have_text("Insufficient data")
    assert grey.evaluate("e => getComputedStyle(e).color") == "rgb(87, 96, 106)"
    assert grey.evaluate("e => getComputedStyle(e, '::before').content") == '"…"'
    expect(page.locator("#evidence")).to_contain_text("2 samples (this baseline needs 5)")
    expect(page.locator("[data-role=maintenance]")).to_contain_text("UTC")
    expect(page.locator("#history .state-maintenance")).to_have_count(1)
    expect(page.locator(".uplot")).to_have_count(1)
    screenshot(page, "baseline-insufficient-maintenance")

    page.context.clear_cookies()  # the scorecard, logged out
    page.goto("/public/")
    card = page.locator("[data-program]")
    expect(card.locator(".state-insufficient_data")).to_have_text("Insufficient data")
    expect(card.locator("[data-role=maintenance]")).to_contain_text("Maintenance")
    screenshot(page, "public-maintenance")
