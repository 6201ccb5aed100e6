"""The admin: escalations with their notifications, actions, the policy YAML upload."""

import pytest
from django.urls import reverse

from apm import services
from apm.models import Escalation, EscalationPolicy
from ops.models import AuditEntry
from tests import factories as ef
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def red(housing_staff):
    ef.kpi_alerts_and_tickets()
    baseline = f.baseline(f.program(owner_group=housing_staff), name="avg_wait_days",
                          probe_query="SELECT 37.2")  # fmt: skip
    services.run_baseline(baseline)
    return Escalation.objects.get()


def test_escalation_list_and_page_show_level_age_and_notifications(client, staff_alice, red):
    client.force_login(staff_alice)
    listing = client.get(reverse("admin:apm_escalation_changelist")).content.decode()
    assert "avg_wait_days" in listing and "critical" in listing and "Red for" in listing
    page = client.get(reverse("admin:apm_escalation_change", args=[red.pk])).content.decode()
    assert "kpi-alerts" in page and "management" in page  # one notification per route
    assert "pending" in page


def test_acknowledge_and_resolve_actions_change_only_your_programs(
    client, staff_alice, staff_dave, red
):
    url = reverse("admin:apm_escalation_changelist")
    client.force_login(staff_dave)
    client.post(url, {"action": "resolve", "_selected_action": [red.pk]})
    red.refresh_from_db()
    assert red.status == "open"
    client.force_login(staff_alice)
    client.post(url, {"action": "acknowledge", "_selected_action": [red.pk]})
    red.refresh_from_db()
    assert red.status == "acknowledged" and red.acknowledged_by == staff_alice
    client.post(url, {"action": "resolve", "_selected_action": [red.pk]})
    red.refresh_from_db()
    assert red.status == "resolved" and "Resolved in the admin by staff_alice" in red.note


def test_policy_yaml_upload_loads_or_names_the_line(client, staff_alice, red):
    client.force_login(staff_alice)
    url = reverse("admin:apm_escalationpolicy_load_yaml")
    bad = client.post(url, {"text": "- baseline: avg_wait_days\n  after_days_no_fix: soon\n"})
    assert bad.status_code == 200
    assert "line 2: must be a whole number of days" in bad.content.decode()
    assert not EscalationPolicy.objects.exists()
    good = client.post(url, {"text": "- baseline: avg_wait_days\n  after_days_no_fix: 14\n"})
    assert good.status_code == 302
    policy = EscalationPolicy.objects.get()
    assert policy.source == "admin upload"
    assert AuditEntry.objects.filter(topic="apm.config", actor="staff_alice").exists()


def test_baseline_edit_in_the_admin_is_audited(client, staff_alice, red):
    client.force_login(staff_alice)
    baseline = red.baseline
    data = {
        "program": baseline.program_id, "name": baseline.name, "active": "on",
        "target_value": "30", "compare_op": "le", "threshold_pct": "15",
        "probe_kind": "sql", "probe_query": baseline.probe_query, "schedule": "0 2 * * *",
    }  # fmt: skip
    response = client.post(reverse("admin:apm_baseline_change", args=[baseline.pk]), data)
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(topic="apm.config").last()
    assert entry.actor == "staff_alice"
    assert entry.payload["fields"] == {"threshold_pct": {"from": 20.0, "to": 15.0}}
