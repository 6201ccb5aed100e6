"""APM rows: programs, baselines, recorded deviations, escalation routes and channels."""

from datetime import timedelta
from itertools import count

from django.db import transaction
from django.utils import timezone

from apm.models import Baseline, Deviation, EscalationRoute, Program
from tests.factories.ops import make_channel
from tests.factories.users import group

_seq = count(1)

VALID_HOUSING_QUERY = "rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])"
SEED_INVALID_HOUSING_QUERY = "rate(housing_wait_days_sum / housing_wait_count [7d])"
VOUCHER_APPROVAL_QUERY = "rate(voucher_approved_total[7d]) / rate(voucher_applications_total[7d])"
ERROR_RATE_QUERY = "rate(api_errors_total[24h]) / rate(api_requests_total[24h]) * 100"
# A query whose text must never reach a public page.
SECRET_QUERY = "SELECT avg(wait_days) FROM housing_private_ledger"
_HOUSING_STAFF = object()


def program(*, owner_group=_HOUSING_STAFF, **fields) -> Program:
    """A program owned by the ``Housing staff`` group unless ``owner_group`` says otherwise
    (``None``: no owning group)."""
    n = next(_seq)
    fields.setdefault("code", f"program-{n}")
    fields.setdefault("name", f"Program {n}")
    fields.setdefault("authority", f"Housing Act §{n}")
    if owner_group is _HOUSING_STAFF:
        owner_group = group("Housing staff")
    return Program.objects.create(owner_group=owner_group, **fields)


def baseline(program_=None, *, clean=True, **fields) -> Baseline:
    """A saved baseline; ``clean=True`` runs ``full_clean()`` first (its probe is checked)
    as the admin and API do."""
    n = next(_seq)
    fields.setdefault("name", f"baseline_{n}")
    fields.setdefault("target_value", 30)
    fields.setdefault("compare_op", Baseline.CompareOp.LE)
    fields.setdefault("probe_kind", Baseline.ProbeKind.SQL)
    fields.setdefault("probe_query", "SELECT 37.2")
    b = Baseline(program=program_ or program(), **fields)
    if clean:
        b.full_clean()
    b.save()
    return b


def ledger_baseline(program_: Program, **fields) -> Baseline:
    """A baseline over the private housing ledger (``SECRET_QUERY``, target 14 days), as the
    pages tests show it: its SQL must never reach a public page. Stored without the probe
    check (the ledger table does not exist here)."""
    fields.setdefault("target_value", 14)
    fields.setdefault("probe_query", SECRET_QUERY)
    return baseline(program_, clean=False, **fields)


def deviation(baseline_: Baseline, actual: float | None, *, days_ago: float = 0, **evidence):
    """A recorded evaluation with evidence shaped like ``apm.services`` writes it."""
    if actual is None:
        pct, status = 100.0, Deviation.Status.NO_DATA
    else:
        pct = baseline_.deviation_pct(actual)
        status = Deviation.Status.BREACH if pct > baseline_.threshold_pct else Deviation.Status.OK
    body = {
        "probe_kind": baseline_.probe_kind,
        "query": baseline_.probe_query,
        "raw_result": [{"value": actual}],
        "target": baseline_.target_value,
        "operator": baseline_.compare_op,
        "threshold_pct": baseline_.threshold_pct,
        "formula": baseline_.formula,
        **evidence,
    }
    return Deviation.objects.create(
        baseline=baseline_,
        evaluated_at=timezone.now() - timedelta(days=days_ago),
        actual=actual,
        deviation_pct=pct,
        status=status,
        evidence=body,
        trigger=Deviation.Trigger.COMMAND,
    )


def escalated(baseline_: Baseline, actual: float, *, days_ago: float = 0, **evidence):
    """A red deviation passed to the watchdog hook, as ``run_baseline`` does: opens or updates
    the baseline's escalation and queues its notifications."""
    from apm import escalations

    with transaction.atomic():
        return escalations.on_deviation(deviation(baseline_, actual, days_ago=days_ago, **evidence))


def route(channel_, *, program=None, min_level="critical", **extra) -> EscalationRoute:
    found = EscalationRoute(program=program, channel=channel_, min_level=min_level, **extra)
    found.full_clean()
    found.save()
    return found


def slack_route(program_: Program | None = None) -> EscalationRoute:
    """A Slack #kpi-alerts channel of its own, routed from ``info`` up."""
    channel = make_channel(f"kpi-alerts-{next(_seq)}", "slack", "#kpi-alerts")
    return EscalationRoute.objects.create(program=program_, channel=channel, min_level="info")


def kpi_alerts_and_tickets(program=None, min_level="critical"):
    """The seed's fan-out (section 5.2): Slack #kpi-alerts and a management ticket."""
    slack = route(
        make_channel("kpi-alerts", "slack", "#kpi-alerts"), program=program, min_level=min_level
    )
    tickets = route(
        make_channel("management", "ticket", "escalation"), program=program, min_level=min_level
    )
    return slack, tickets


def set_probe(baseline_, value: float):
    """Make the baseline's SQL probe measure ``value`` from now on."""
    baseline_.probe_query = f"SELECT {value}"
    baseline_.full_clean()
    baseline_.save()
    return baseline_


def leadership_ticket(baseline_: Baseline, title: str):
    from apm import tickets
    from apm.models import Ticket

    return tickets.open_ticket(
        dedupe_key=f"pages-test:{next(_seq)}",
        kind=Ticket.Kind.LEADERSHIP_REVIEW,
        title=title,
        baseline=baseline_,
    )[0]
