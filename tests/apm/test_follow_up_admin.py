"""The admin's follow-up page: acknowledge with a comment, snooze with a note; scoped, audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import services
from apm.models import Escalation
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalation(staff_alice):
    program = f.program(code="FTHV", owner_group=staff_alice.groups.get())
    services.run_baseline(f.baseline(program, name="avg_wait_days", probe_query="SELECT 41.7"))
    return Escalation.objects.get()


def _url(escalation):
    return f"/admin/apm/escalation/{escalation.pk}/follow-up/"


def test_the_change_page_links_to_the_follow_up(client, staff_alice, escalation):
    client.force_login(staff_alice)
    page = client.get(f"/admin/apm/escalation/{escalation.pk}/change/").content.decode()
    assert _url(escalation) in page


def test_acknowledge_with_a_comment(client, staff_alice, escalation):
    client.force_login(staff_alice)
    answer = client.post(
        _url(escalation), {"note": "vendor called, fix Friday", "_acknowledge": "1"}
    )
    assert answer.status_code == 302
    escalation.refresh_from_db()
    assert escalation.status == "acknowledged" and escalation.acknowledged_by == staff_alice
    assert "vendor called, fix Friday" in escalation.note
    entry = AuditEntry.objects.filter(payload__change="acknowledged").get()
    assert entry.payload["note"] == "vendor called, fix Friday"


def test_snooze_with_a_note(client, staff_alice, escalation):
    client.force_login(staff_alice)
    until = (timezone.now() + timedelta(days=2)).replace(microsecond=0, second=0)
    answer = client.post(
        _url(escalation),
        {"note": "waiting for Q2 data", "until": until.strftime("%Y-%m-%d %H:%M"), "_snooze": "1"},
    )
    assert answer.status_code == 302
    escalation.refresh_from_db()
    assert escalation.snoozed_until == until and escalation.status == "open"
    assert AuditEntry.objects.filter(payload__change="snoozed", actor="staff_alice").exists()


def test_snoozing_into_the_past_is_a_form_error(client, staff_alice, escalation):
    client.force_login(staff_alice)
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    answer = client.post(_url(escalation), {"until": past, "_snooze": "1"})
    assert answer.status_code == 200
    assert "Snooze until a moment in the future." in answer.content.decode()
    escalation.refresh_from_db()
    assert escalation.snoozed_until is None


def test_another_programs_staff_get_a_404(client, staff_dave, escalation):
    client.force_login(staff_dave)
    assert client.get(_url(escalation)).status_code == 404
    assert client.post(_url(escalation), {"_acknowledge": "1"}).status_code == 404
    escalation.refresh_from_db()
    assert escalation.status == "open"
