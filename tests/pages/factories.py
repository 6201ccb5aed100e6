"""Plain factories for the pages tests: services with an SLO, programs with evaluated baselines."""

from datetime import timedelta
from itertools import count

from django.contrib.auth.models import Group, User
from django.utils import timezone

from apm.models import Baseline, Deviation, Program
from ops.metrics import ingest
from ops.services import register_service

_seq = count(1)
SECRET_QUERY = "SELECT avg(wait_days) FROM housing_private_ledger"


def service(service_id: str, *, owner: str = "TSA", threshold: float = 30, window: int = 300):
    register_service(
        f"id: {service_id}\nowner: {owner}\nsensors:\n  - name: queue_time_seconds\n"
        f"slo:\n  target: queue_time_seconds\n  threshold: {threshold}\n"
        f"  window_seconds: {window}\n"
    )
    return service_id


def readings(service_id: str, values, *, end=None):
    end = end or timezone.now()
    ingest(
        {
            "samples": [
                {
                    "service": service_id,
                    "name": "queue_time_seconds",
                    "value": v,
                    "ts": (end - timedelta(seconds=len(values) - i)).isoformat(),
                }
                for i, v in enumerate(values)
            ],
        },
        now=end,
    )


def group(name: str) -> Group:
    return Group.objects.get_or_create(name=name)[0]


def staff(username: str, *groups: Group) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=True)
    user.groups.add(*groups)
    return user


def program(*, owner_group: Group | None = None, public: bool = False, **fields) -> Program:
    n = next(_seq)
    fields.setdefault("code", f"program-{n}")
    fields.setdefault("name", f"Program {n}")
    fields.setdefault("authority", f"Housing Act §{n}")
    return Program.objects.create(owner_group=owner_group, public=public, **fields)


def baseline(program_: Program, **fields) -> Baseline:
    n = next(_seq)
    fields.setdefault("name", f"baseline_{n}")
    fields.setdefault("target_value", 14)
    fields.setdefault("probe_kind", Baseline.ProbeKind.SQL)
    fields.setdefault("probe_query", SECRET_QUERY)
    return Baseline.objects.create(program=program_, **fields)


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
    from django.db import transaction

    from apm import escalations

    with transaction.atomic():
        return escalations.on_deviation(deviation(baseline_, actual, days_ago=days_ago, **evidence))


def slack_route(program_: Program | None = None):
    from apm.models import EscalationRoute
    from ops.models import Channel

    channel = Channel(name=f"kpi-alerts-{next(_seq)}", kind="slack", target="#kpi-alerts")
    channel.full_clean()
    channel.save()
    return EscalationRoute.objects.create(program=program_, channel=channel, min_level="info")


def leadership_ticket(baseline_: Baseline, title: str):
    from apm import tickets
    from apm.models import Ticket

    return tickets.open_ticket(
        dedupe_key=f"pages-test:{next(_seq)}",
        kind=Ticket.Kind.LEADERSHIP_REVIEW,
        title=title,
        baseline=baseline_,
    )[0]
