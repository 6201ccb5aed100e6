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
    assert set(Channel.objects.values_list("name", "kind")) == {
        ("kpi-alerts", "slack"),
        ("management-tickets", "ticket"),
    }
    assert EscalationRoute.objects.count() == 4
    policy = EscalationPolicy.objects.get()
    assert policy.baseline.name == "watchdog_failure_rate_pct" and policy.after_days_no_fix == 14

    services.run_all()
    services.run_all()  # the failure rate breaches on the second run (see test_demo)
    escalation = Escalation.objects.get()
    assert escalation.baseline.name == "watchdog_failure_rate_pct"
    assert set(
        Notification.objects.filter(source_id=str(escalation.pk)).values_list(
            "channel__name", flat=True
        )
    ) == {"kpi-alerts", "management-tickets"}
