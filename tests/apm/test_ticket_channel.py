"""The ``ticket`` channel kind: registered by APM into OPS' registry, one ticket per event."""

import pytest
from django.core.exceptions import ValidationError

from apm.models import Ticket
from ops import channels
from ops.channels import Message, registry
from ops.models import AuditEntry
from tests import factories as ef
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_ticket_kind_is_registered_and_checks_its_target():
    assert "ticket" in registry.kinds()
    with pytest.raises(ValidationError) as refused:
        ef.make_channel("tickets", "ticket", "coffee_order")
    assert "Ticket kind 'coffee_order'" in refused.value.message_dict["target"][0]


def test_a_resent_message_never_makes_a_second_ticket():
    channel = ef.make_channel("management", "ticket", "escalation")
    baseline = f.baseline()
    message = Message(
        text="[CRITICAL] housing / avg_wait_days: off by 24 %",
        subject="[CRITICAL] housing / avg_wait_days",
        payload={"baseline": baseline.pk, "escalation": 999_999},
        marker="hms-notification-1",
        dedupe_key="apm.escalation:1:critical:route-1",
    )
    since = None
    assert channels.find_delivered(channel, message, since) is None
    first = channels.send(channel, message)
    assert first["created"] is True
    assert channels.send(channel, message) == {"ticket": first["ticket"], "created": False}
    assert channels.find_delivered(channel, message, since) == {
        "ticket": first["ticket"],
        "created": False,
    }
    ticket = Ticket.objects.get()
    assert ticket.kind == "escalation" and ticket.baseline == baseline
    assert ticket.escalation is None  # a dangling reference is dropped, not an error
    assert AuditEntry.objects.filter(topic="apm.ticket").count() == 1


def test_one_all_programs_route_per_channel():
    channel = ef.make_channel("kpi-alerts", "slack", "#kpi-alerts")
    ef.route(channel)
    with pytest.raises(ValidationError, match="all-programs route to this channel"):
        ef.route(channel, min_level="info")
