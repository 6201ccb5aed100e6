"""The last 8 periods on the baseline page and dashboard, and the admin's Backtest page with
its chart, in a real browser (chromium)."""

from datetime import UTC, datetime

import pytest

from apm import periods
from apm.models import PeriodResult
from tests import factories as f
from tests.e2e.conftest import log_in, screenshot

QUERY = "SELECT 37.2 WHERE %(period_start)s IS NOT NULL"


@pytest.mark.services
def test_periods_and_the_backtest_chart_in_the_browser(page, django_user_model):
    django_user_model.objects.create_superuser("ada", "ada@example.org", "s3cret-pass")
    program = f.program(code="FTHV", name="Fast-Track Housing Vouchers")
    b = f.baseline(program, name="avg_wait_days", probe_query=QUERY, period="quarter",
                   period_tz="America/New_York", clean=False)  # fmt: skip
    now = datetime(2026, 12, 2, tzinfo=UTC)
    closed = periods.Period.containing("quarter", now, "America/New_York").previous_n(8)
    for i, p in enumerate(closed[2:]):
        value = 27.5 + (i % 3) * 5  # 37.5 is 25 % over: missed
        PeriodResult.objects.create(
            baseline=b, kind="quarter", period_tz=p.tz, label=p.label, starts_at=p.start,
            ends_at=p.end, status="kept" if value <= 36 else "missed", value=value,
            deviation_pct=(value - 30) / 30 * 100, target_value=30, threshold_pct=20,
            evaluations=90, breaches=i,
        )  # fmt: skip
    log_in(page, "ada", "s3cret-pass")

    page.goto(f"/dashboard/baselines/{b.pk}/")
    cells = page.locator("ol.periods li")
    assert cells.count() == 8
    assert "not judged yet" in cells.first.inner_text()
    assert cells.last.inner_text() == "2026Q3 Missed 37.50"  # 37.5 against 30: 25 % over
    screenshot(page, "baseline-periods")
    page.goto("/dashboard/")
    assert page.locator("ol.periods li").count() == 8
    screenshot(page, "dashboard-periods")

    page.goto(f"/admin/apm/baseline/{b.pk}/change/")
    page.get_by_text("Backtest", exact=True).click()
    page.fill("#id_since", "2026-06-01 00:00")
    page.fill("#id_until", "2026-08-29 00:00")
    page.fill("#id_step", "1d")
    page.fill("#id_threshold_pct", "30")
    page.get_by_role("button", name="Run the backtest").click()
    page.wait_for_selector("svg[aria-label='backtest deviations']")
    assert page.locator("svg[aria-label='backtest deviations'] circle").count() == 90
    assert "90 evaluations" in page.locator("#content").inner_text()
    screenshot(page, "baseline-backtest")
    assert PeriodResult.objects.count() == 6


@pytest.mark.services
def test_the_service_backtest_page_in_the_browser(page, django_user_model):
    from datetime import timedelta

    from ops.services import register_service

    django_user_model.objects.create_superuser("ada", "ada@example.org", "s3cret-pass")
    playbook = (
        "playbook:\n  - if: slo_breach\n    then: scale_up compute=+2\n"
        "  - if: still_breach_after 60\n    then: page channel=tsa_ops, severity=critical\n"
        "  - always:\n    log_to: HMS-DTA\n"
    )
    register_service(f.service_yaml() + playbook)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    values = [20.0 + (i % 7) for i in range(20)] + [48.0 - i for i in range(15)] + [22.0] * 25
    f.readings("DCA_Luggage_Scanner", values, end=t0 + timedelta(minutes=59), step=60)
    log_in(page, "ada", "s3cret-pass")
    page.goto("/admin/ops/service/DCA_Luggage_Scanner/change/")
    page.get_by_text("Backtest", exact=True).click()
    page.fill("#id_since", "2026-11-01 00:05")
    page.fill("#id_until", "2026-11-01 00:59")
    page.fill("#id_step", "1m")
    page.get_by_role("button", name="Run the backtest").click()
    page.wait_for_selector("svg[aria-label='backtest values']")
    text = page.locator("#content").inner_text()
    assert "55 evaluations" in text and "scale_up" in text
    screenshot(page, "service-backtest")
