"""``manage.py hms_demo`` sets up where escalations go, and the seed's policy form."""

import pytest
from django.core.management import call_command

from apm import services
from apm.models import Escalation, EscalationPolicy, EscalationRoute
from ops.models import Channel, Notification

pytestmark = pytest.mark.django_db


def test_demo_routes_escalations_to_kpi_alerts_and_tickets(settings):
    settings.PROMETHEUS_URL = None
    call_command("hms_demo")
    call_command("hms_demo")  # idempotent
    # The OPS part of the demo adds the playbooks' channels (tsa_ops, CIGIE) besides these.
    assert set(Channel.objects.values_list("name", "kind")) >= {
        ("kpi-alerts", "slack"),
        ("management-tickets", "ticket"),
    }
    # every demo program (housing, the monitor's own, TSA, SSA) to both channels
    assert EscalationRoute.objects.count() == 8
    assert set(EscalationPolicy.objects.values_list("baseline__name", "after_days_no_fix")) == {
        ("watchdog_failure_rate_pct", 14),
        ("scanner_queue_p95_seconds", 14),
    }

    services.run_all()  # still red: counted on the open escalation, announced once
    # the scanner's promise has been broken for three weeks of the demo's history (test_demo)
    escalation = Escalation.objects.get(status="open")
    assert escalation.baseline.name == "scanner_queue_p95_seconds"
    assert set(
        Notification.objects.filter(source_id=str(escalation.pk)).values_list(
            "channel__name", flat=True
        )
    ) == {"kpi-alerts", "management-tickets"}
