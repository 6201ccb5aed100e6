"""The quarterly review in a real browser: a kept, a trending and a missed promise read as
on track, at risk and off track with their projections; the demo's changed pages read in
words (summary strip, sign-off flags, quarter bars), on a desk, on a phone and on paper."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from apm.models import Baseline, Deviation
from apm.review.quarters import Quarter
from tests import factories as f
from tests.e2e.conftest import screenshot
from tests.e2e.test_demo_pages import RAW_TIME
from tests.e2e.test_pages import log_in

pytestmark = pytest.mark.services

Q3 = Quarter(2026, 3)
PHONE = {"width": 390, "height": 844}


def history(baseline, values, quarter=Q3):
    """One evaluation a week through the quarter, the values in order."""
    step = (quarter.end - quarter.start) / len(values)
    for i, value in enumerate(values):
        pct = baseline.deviation_pct(value)
        Deviation.objects.create(
            baseline=baseline,
            evaluated_at=quarter.start + step * i + timedelta(hours=1),
            actual=value,
            deviation_pct=pct,
            status="breach" if pct > baseline.threshold_pct else "ok",
            evidence={},
            trigger="schedule",
        )


@pytest.fixture
def housing():
    staff = f.group("Housing staff")
    program = f.program(code="fast-track", name="Fast-Track Housing", owner_group=staff)
    kept = f.baseline(program, name="avg_wait_days", target_value=30, clean=False)
    trending = f.baseline(program, name="approval_days", target_value=30, clean=False)
    missed = f.baseline(program, name="backlog_days", target_value=30, clean=False)
    history(kept, [25, 24, 26, 25, 25, 24, 26, 25, 25, 24, 26, 25, 25])
    history(trending, [15 + 2.5 * i for i in range(13)])  # mean 30, the line ends near 47
    history(missed, [45, 46, 44, 45, 47, 45, 44, 46, 45, 45, 46, 44, 45])
    f.staff_user("staff_alice", staff)  # password "pw"
    return program


def row(page, name):
    return page.locator("table.review tbody tr", has=page.locator(f"a:text-is('{name}')"))


def test_kept_trending_and_missed_read_on_track_at_risk_and_off_track(page, housing):
    log_in(page, "staff_alice", "pw", "/dashboard/review/?quarter=2026Q3")
    expect(page.locator("h1")).to_have_text("Quarterly review — 2026Q3 (FY2026 Q4)")
    rows = page.locator("table.review tbody tr")
    expect(rows).to_have_count(3)
    # worst first
    expect(rows.nth(0)).to_contain_text("backlog_days")
    expect(rows.nth(2)).to_contain_text("avg_wait_days")

    kept, trending = row(page, "avg_wait_days"), row(page, "approval_days")
    missed = row(page, "backlog_days")
    expect(kept.locator("[data-label=Status]")).to_have_text("On track")
    expect(kept.locator("[data-label=Trend]")).to_contain_text("steady")
    expect(kept.locator("[data-label=Projected]")).to_have_text(re.compile(r"^2[45](\.\d+)?$"))
    expect(trending.locator("[data-label=Status]")).to_have_text("At risk")
    expect(trending.locator("[data-label=Trend]")).to_contain_text("▼ worsening")
    expect(trending.locator("[data-label='So far']")).to_contain_text("30")
    # 2.5 a week from 15, read at the quarter's end: 15 + 2.5/(92/13) * (92 - 1/24) = 47.49
    expect(trending.locator("[data-label=Projected]")).to_have_text("47.49")
    expect(missed.locator("[data-label=Status]")).to_have_text("Off track")
    expect(missed.locator("[data-label=Projected]")).to_have_text(re.compile(r"^4[45](\.\d+)?$"))
    for due in (trending, missed):
        expect(due.locator("[data-label=Explanation]")).to_have_text("Explanation due")
    expect(kept.locator("[data-label=Explanation]")).to_have_text("—")
    expect(page.locator(".summary")).to_contain_text("2 explanations due")
    expect(missed.locator("[data-label=Data]")).to_contain_text("Data source not signed off")
    assert not RAW_TIME.search(page.locator("main").inner_text())
    screenshot(page, "review-desktop")

    page.select_option("select[name=sort]", "name")
    page.click("button:text('Show')")
    expect(rows.nth(0)).to_contain_text("approval_days")

    page.set_viewport_size(PHONE)
    expect(missed.locator("[data-label=Status]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width  # stacked cards, no sideways scrolling
    screenshot(page, "review-phone")
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()


@pytest.fixture
def demo(settings, django_user_model):
    settings.PROMETHEUS_URL = None
    settings.KUBE_DRY_RUN = True
    settings.KUBE_API_URL = None
    call_command("hms_demo")
    django_user_model.objects.create_user(
        "staff_alice", "alice@example.org", "s3cret-pass", is_staff=True, is_superuser=True
    )


def test_the_demos_changed_pages_read_in_words(page, demo):
    log_in(page, "staff_alice", "s3cret-pass", "/dashboard/")
    strip = page.locator("section.strip")
    expect(strip).to_contain_text("at a glance")
    expect(strip.locator("[data-state=off_track]")).to_contain_text("off track")
    expect(strip.locator("[data-age]")).to_have_count(4)
    expect(page.locator("[data-role=source]").first).to_be_visible()
    page.wait_for_selector(".uplot")
    assert not RAW_TIME.search(page.locator("main").inner_text())
    side = page.locator("aside.exec-side").bounding_box()
    main = page.locator("div.exec-main").bounding_box()
    assert side["x"] > main["x"] + main["width"] - 1  # wide screen: escalations beside
    screenshot(page, "demo-dashboard-wide")

    page.goto("/dashboard/review/")
    expect(page.locator("table.review tbody tr").first).to_be_visible()
    assert not RAW_TIME.search(page.locator("main").inner_text())
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # fits the screen
    screenshot(page, "demo-review")

    scanner = Baseline.objects.get(name="scanner_queue_p95_seconds")
    page.goto(f"/dashboard/baselines/{scanner.pk}/")
    source = page.locator("section[aria-labelledby=source-title]")
    expect(source).to_contain_text("Checkpoint scanner sensors")
    expect(source).to_contain_text("Sign-off out of date: given 1\xa0year, 1\xa0month ago")
    expect(page.locator("#history")).to_contain_text("Data quality")
    # The replayed metric runs say how complete their window was, in words (issue 18).
    expect(page.locator("[data-role=data-quality]")).to_contain_text(re.compile(r"\d+ % complete"))
    expect(page.locator("#history")).to_contain_text(re.compile(r"\d+ samples · \d+ % complete"))
    assert not RAW_TIME.search(page.locator("main").inner_text())
    screenshot(page, "demo-baseline")

    page.context.clear_cookies()  # the public page, logged out, on a phone
    page.set_viewport_size(PHONE)
    page.goto("/public/")
    bars = page.locator("ol.bars").first
    expect(bars.locator("li")).to_have_count(8)
    for item in bars.locator("li").all():
        text = item.locator(".visually-hidden").inner_text()
        assert re.match(r"^\d{4}Q[1-4]( \(so far\))?: ", text), text
    assert not RAW_TIME.search(page.locator("main").inner_text())
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width
    screenshot(page, "demo-public-phone")
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(bars).to_be_visible()
