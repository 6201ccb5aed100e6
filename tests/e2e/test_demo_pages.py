"""The demo in a real browser: what the README's screenshots show, and nothing raw or broken.

The war room's incident block survives its refresh unchanged (one renderer),
dry-run steps say so, chart legends name their lines, and no page shows a raw
ISO timestamp.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from apm.models import Baseline
from ops.models import ActionRun
from ops.playbook import runner
from tests.e2e.conftest import screenshot
from tests.e2e.test_pages import log_in

pytestmark = pytest.mark.services

# 2026-12-01T23:03:20 or 23:03:20.123456: a timestamp nobody should have to read
RAW_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}\.\d{3,6}")


@pytest.fixture
def demo(settings, django_user_model):
    settings.PROMETHEUS_URL = None
    settings.KUBE_DRY_RUN = True
    settings.KUBE_API_URL = None
    call_command("hms_demo")
    for run in ActionRun.objects.filter(trigger__in=["slo_breach", "always"]):
        runner.execute(run.pk)  # what the worker does with the planned steps
    django_user_model.objects.create_user(
        "staff_alice", "alice@example.org", "s3cret-pass", is_staff=True, is_superuser=True
    )


def _shape(html: str) -> str:
    """The block without its relative times ("just now" becomes "5 s ago" between polls)."""
    return re.sub(r"<time[^>]*>.*?</time>", "<time/>", html).strip()


def _refreshed(page):
    """Wait for the war room's next poll to have been applied."""
    before = page.locator("#war-room-at").get_attribute("datetime")
    page.wait_for_function(
        "before => document.getElementById('war-room-at').getAttribute('datetime') !== before",
        arg=before,
        timeout=10_000,
    )


def test_the_incident_block_is_unchanged_by_the_war_rooms_refresh(page, demo):
    log_in(page, "staff_alice", "s3cret-pass", "/war-room/")
    block = page.locator("#tile-DCA_Luggage_Scanner [data-role=incident]")
    expect(block.locator("h3 a")).to_have_text("slo_breach")
    first = _shape(block.inner_html())
    _refreshed(page)
    _refreshed(page)  # two polls: the first could be the one in flight at load
    assert _shape(block.inner_html()) == first
    expect(block.locator("h3 a")).to_have_attribute("href", re.compile(r"/admin/ops/incident/"))
    expect(block.locator("p.muted")).to_contain_text("opened")
    # scale_up and log_to ran; the page waits for "still_breach_after 60"
    expect(block.locator(".timeline .state")).to_have_count(3)
    scale = block.locator(".timeline li", has_text="scale_up")
    expect(scale.locator(".state")).to_have_text("succeeded")
    expect(scale).to_contain_text("dry run")
    expect(block.locator(".timeline li", has_text="log_to")).not_to_contain_text("dry run")
    screenshot(page, "demo-war-room")


def test_no_page_shows_a_raw_iso_timestamp(page, demo):
    scanner = Baseline.objects.get(name="scanner_queue_p95_seconds")
    log_in(page, "staff_alice", "s3cret-pass", "/war-room/")
    _refreshed(page)
    for path in ("/war-room/", "/dashboard/", f"/dashboard/baselines/{scanner.pk}/", "/public/"):
        page.goto(path)
        page.wait_for_selector(".uplot")
        if path == "/war-room/":
            _refreshed(page)
        text = page.locator("main").inner_text()
        assert not RAW_TIME.search(text), (path, RAW_TIME.search(text).group(0))


def test_a_charts_legend_names_its_lines_instead_of_reading_dashes(page, demo):
    scanner = Baseline.objects.get(name="scanner_queue_p95_seconds")
    log_in(page, "staff_alice", "s3cret-pass", f"/dashboard/baselines/{scanner.pk}/")
    legend = page.locator("#main .u-legend").first
    expect(legend).to_contain_text("actual")
    expect(legend).to_contain_text("target ≤ 30")
    assert "--" not in legend.inner_text()
    page.goto("/public/")
    for legend in page.locator(".u-legend").all():
        assert "--" not in legend.inner_text() and "actual" in legend.inner_text()
