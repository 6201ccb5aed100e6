"""The admin's Backtest page (form, counts, inline SVG chart, nothing written) and the last
8 periods on the baseline page, the dashboard and the admin change page."""

from datetime import UTC, datetime

import pytest
from django.apps import apps

from apm.models import PeriodResult
from tests import factories as f

pytestmark = pytest.mark.django_db


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_the_backtest_button_leads_to_a_chart_and_writes_nothing(client, admin_user):
    client.force_login(admin_user)
    b = f.baseline(target_value=30)  # SELECT 37.2: 24 % over
    change = client.get(f"/admin/apm/baseline/{b.pk}/change/").content.decode()
    assert f"/admin/apm/baseline/{b.pk}/backtest/" in change and ">Backtest</a>" in change
    page = f"/admin/apm/baseline/{b.pk}/backtest/"
    assert client.get(page).status_code == 200
    before = counts()
    form = {"since": "2026-01-01 00:00", "until": "2026-01-10 00:00", "step": "1d"}
    html = client.post(page, form).content.decode()
    assert counts() == before
    assert 'aria-label="backtest deviations"' in html and html.count("<circle") == 10
    assert "<th>breaches</th><td>10</td>" in html
    assert "<th>escalations that would open</th><td>1</td>" in html
    html = client.post(page, {**form, "threshold_pct": "30"}).content.decode()
    assert "<th>breaches</th><td>0</td>" in html
    refused = client.post(page, {**form, "step": "1w"}).content.decode()
    assert "a duration like 30m, 6h or 1d" in refused, refused
    assert "backtest deviations" not in refused
    assert counts() == before


def test_a_baseline_of_another_program_has_no_backtest_page(client, staff_dave):
    client.force_login(staff_dave)
    b = f.baseline()
    assert client.get(f"/admin/apm/baseline/{b.pk}/backtest/").status_code == 404
    assert client.post(f"/admin/apm/baseline/{b.pk}/backtest/", {}).status_code == 404


def test_the_last_8_quarters_show_on_the_pages(client, admin_user):
    client.force_login(admin_user)
    b = f.baseline(probe_query="SELECT 37.2 WHERE %(period_start)s IS NOT NULL", period="quarter",
                   clean=False)  # fmt: skip
    PeriodResult.objects.create(
        baseline=b, kind="quarter", period_tz="UTC", label="2026Q3",
        starts_at=datetime(2026, 7, 1, tzinfo=UTC), ends_at=datetime(2026, 10, 1, tzinfo=UTC),
        status="missed", value=37.2, deviation_pct=24, target_value=30, threshold_pct=20,
    )  # fmt: skip
    page = client.get(f"/dashboard/baselines/{b.pk}/").content.decode()
    assert page.count('class="period ') == 8
    assert '2026Q3</span> <span class="period-status">Missed' in page
    assert "2024Q4" in page and "not judged yet" in page
    dashboard = client.get("/dashboard/").content.decode()
    assert dashboard.count('class="period ') == 8
    change = client.get(f"/admin/apm/baseline/{b.pk}/change/").content.decode()
    assert "2026Q3 Missed" in change


def test_a_rolling_baseline_shows_no_periods(client, admin_user):
    client.force_login(admin_user)
    b = f.baseline()
    assert 'class="periods"' not in client.get(f"/dashboard/baselines/{b.pk}/").content.decode()
