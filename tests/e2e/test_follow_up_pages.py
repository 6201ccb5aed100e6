"""The escalation follow-up page and the schedule admin in a real browser (chromium)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import services
from apm.models import Escalation
from tests import factories as f
from tests.e2e.conftest import log_in, screenshot
from tests.ops.oncall_factories import three_shifts


@pytest.mark.services
def test_staff_snooze_an_escalation_with_a_note_in_the_browser(page):
    staff = f.staff_user("staff_alice", f.group("Housing staff"))
    staff.set_password("s3cret-pass")
    staff.save()
    program = f.program(code="FTHV", owner_group=staff.groups.get())
    services.run_baseline(f.baseline(program, name="avg_wait_days", probe_query="SELECT 41.7"))
    escalation = Escalation.objects.get()
    log_in(page, "staff_alice", "s3cret-pass")

    page.goto(f"/admin/apm/escalation/{escalation.pk}/change/")
    page.get_by_text("Acknowledge with a comment / snooze").click()
    until = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    page.fill("#id_note", "waiting for the Q2 data")
    page.fill("#id_until", until)
    screenshot(page, "escalation-follow-up")
    page.click("input[name=_snooze]")
    page.wait_for_selector(".messagelist")
    assert f"Escalation #{escalation.pk} snoozed." in page.locator(".messagelist").inner_text()
    screenshot(page, "escalation-snoozed")
    escalation.refresh_from_db()
    assert escalation.snoozed_until is not None and escalation.status == "open"


@pytest.mark.services
def test_the_schedule_list_shows_who_is_on_call(page, django_user_model):
    django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "s3cret-pass")
    three_shifts()
    log_in(page, "admin_ada", "s3cret-pass")
    page.goto("/admin/ops/schedule/")
    assert "tsa-primary" in page.locator("#result_list").inner_text()
    screenshot(page, "schedules")
    page.get_by_role("link", name="tsa-primary").click()
    page.wait_for_selector("#participants-group")
    screenshot(page, "schedule-change")
