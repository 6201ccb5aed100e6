"""Plain factories for escalation tests: channels, routes, red/green baselines."""

from apm.models import EscalationRoute
from ops.models import Channel


def channel(name: str, kind: str, target: str) -> Channel:
    found = Channel(name=name, kind=kind, target=target)
    found.full_clean()
    found.save()
    return found


def route(channel_: Channel, *, program=None, min_level="critical", **extra) -> EscalationRoute:
    found = EscalationRoute(program=program, channel=channel_, min_level=min_level, **extra)
    found.full_clean()
    found.save()
    return found


def kpi_alerts_and_tickets(program=None, min_level="critical"):
    """The seed's fan-out (section 5.2): Slack #kpi-alerts and a management ticket."""
    slack = route(
        channel("kpi-alerts", "slack", "#kpi-alerts"), program=program, min_level=min_level
    )
    tickets = route(
        channel("management", "ticket", "escalation"), program=program, min_level=min_level
    )
    return slack, tickets


def set_probe(baseline, value: float):
    """Make the baseline's SQL probe measure ``value`` from now on."""
    baseline.probe_query = f"SELECT {value}"
    baseline.full_clean()
    baseline.save()
    return baseline
