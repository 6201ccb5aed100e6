"""What the war room shows: one tile per service, in a fixed number of queries.

``war_room(user, params)`` returns the page of tiles for the filters in
``params`` (``owner``, ``slo_state``, ``page`` — the same ``ServiceFilterSet``
the API uses), each tile with its SLOs (state, value, threshold) and a graph
of each SLO's metric: the maximum per bucket over ``max(window, 1 h)``.
Queries: count, services, SLOs, graph buckets, owner list — plus one per
registered incident reader. Nothing grows with the number of rows; pages hold
at most ``PAGE_SIZE`` tiles.

Incidents plug in through ``INCIDENT_READERS``: functions taking the service
ids of the page and returning ``{service_id: {"title", "opened_at", "url",
"timeline": [{"at", "text", "status", "dry_run"?}]}}`` for the open incident of
each (times as datetimes or ISO-8601 strings).

One renderer per fragment: the page and its polling both show the incident
block rendered by ``templates/ops/_incident.html`` (the JSON carries it as
``incident_html``) and the SLO value formatted by ``value_text``, so a refresh
shows exactly what the first load did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ops.budget import evaluate as budget
from ops.filtersets import ServiceFilterSet
from ops.metrics.store import get_store
from ops.models import SLO, ActionRun, Incident, Service

PAGE_SIZE = 30
GRAPH_MIN_SECONDS = 3600
# Over six hours, one point an hour keeps each graph under a few hundred points.
MINUTE_BUCKETS_UP_TO = 6 * 3600
# A tile shows its worst SLO: breached, then no data, then too few samples, then healthy.
STATE_RANK = {
    SLO.State.BREACHED: 3,
    SLO.State.NO_DATA: 2,
    SLO.State.INSUFFICIENT_DATA: 1,
    SLO.State.HEALTHY: 0,
}

IncidentReader = Callable[[list[str]], dict[str, dict]]
INCIDENT_READERS: list[IncidentReader] = []


def register_incident_reader(reader: IncidentReader) -> IncidentReader:
    """Let the incidents part show the open incident and its action timeline on a tile."""
    if reader not in INCIDENT_READERS:
        INCIDENT_READERS.append(reader)
    return reader


def may_view(user) -> bool:
    """Same rule as the services API: any signed-in, active user reads every service."""
    return bool(user and user.is_authenticated and user.is_active)


@dataclass
class Tile:
    service: Service
    state: str
    slos: list[dict] = field(default_factory=list)
    incident: dict | None = None
    in_maintenance: bool = False

    @property
    def state_label(self) -> str:
        """The state in words; a service in a maintenance window says so (its playbook runs
        only ``always`` steps there: docs/VERDICTS.md)."""
        label = SLO.State(self.state).label
        return f"{label} · in maintenance" if self.in_maintenance else label

    def incident_html(self, at: datetime) -> str:
        """The incident block, as the page renders it (empty without an open incident)."""
        if not self.incident:
            return ""
        return render_to_string("ops/_incident.html", {"incident": self.incident, "at": at})

    def as_json(self, at: datetime) -> dict:
        return {
            "id": self.service.id,
            "owner": self.service.owner,
            "state": self.state,
            "state_label": self.state_label,
            "in_maintenance": self.in_maintenance,
            "slos": self.slos,
            "incident": self.incident,
            "incident_html": self.incident_html(at),
        }


@dataclass
class WarRoom:
    filterset: ServiceFilterSet
    tiles: list[Tile]
    page: object
    owners: list[str]
    at: datetime

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATE_RANK, 0)
        for tile in self.tiles:
            counts[tile.state] += 1
        return counts

    def as_json(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "page": self.page.number,
            "pages": self.page.paginator.num_pages,
            "total": self.page.paginator.count,
            "tiles": [tile.as_json(self.at) for tile in self.tiles],
        }


def _graph_range(slo: SLO) -> int:
    return max(slo.window_seconds, GRAPH_MIN_SECONDS)


def _graphs(slos: list[SLO], at: datetime) -> dict[tuple[str, str], dict[int, float]]:
    """{(service, metric): {epoch second of bucket: max value}}, one metrics-store call."""
    if not slos:
        return {}
    longest = max(_graph_range(slo) for slo in slos)
    step = 60 if longest <= MINUTE_BUCKETS_UP_TO else 3600
    metrics = [(slo.service_id, slo.target) for slo in slos]
    return get_store().buckets(metrics, at - timedelta(seconds=longest), at, step, "max")


def value_text(value: float | None) -> str:
    """An SLO value as the tile shows it: at most two decimals, "no data" when unmeasured."""
    if value is None:
        return "no data"
    return f"{round(value, 2):g}"


def budget_text(slo: SLO, slo_counts: dict | None, at: datetime) -> str:
    """ "error budget 62.5 % left (270 min)", or "" when the SLO has no objective."""
    if slo.objective is None or slo_counts is None:
        return ""
    report = budget.report(slo, slo_counts, at)
    return (
        f"error budget {report['remaining_pct']:.1f} % left "
        f"({report['remaining_minutes']:.0f} min of {report['window']})"
    )


def _slo_json(slo: SLO, points: dict[int, float], at: datetime, budget_counts=None) -> dict:
    since = int((at - timedelta(seconds=_graph_range(slo))).timestamp())
    xs = sorted(x for x in points if x >= since - 60)
    return {
        "id": slo.pk,
        "target": slo.target,
        "percentile": slo.percentile,
        "threshold": slo.threshold,
        "window_seconds": slo.window_seconds,
        "state": slo.state,
        "state_label": SLO.State(slo.state).label,
        "value": slo.value,
        "value_text": value_text(slo.value),
        "budget_text": budget_text(slo, (budget_counts or {}).get(slo.pk), at),
        "since": slo.since.isoformat() if slo.since else None,
        "evaluated_at": slo.evaluated_at.isoformat() if slo.evaluated_at else None,
        "graph": {
            "x": xs,
            "y": [points[x] for x in xs],
            "line": slo.threshold,
            "from": since,
            "to": int(at.timestamp()),
            "window_start": int((at - timedelta(seconds=slo.window_seconds)).timestamp()),
            "label": f"{slo.target} (max per bucket)",
            "lineLabel": f"threshold {slo.threshold:g}",
            "compact": True,
        },
    }


def war_room(user, params, at: datetime | None = None, with_owners: bool = True) -> WarRoom:
    """The page of tiles ``user`` may see for the filters in ``params``."""
    at = at or timezone.now()
    filterset = ServiceFilterSet(params, queryset=Service.objects.all())
    services = filterset.qs if filterset.is_valid() else Service.objects.none()
    if not may_view(user):
        services = Service.objects.none()
    if "slo_state" in filterset.form.changed_data:
        services = services.distinct()
    services = services.only("id", "owner", "description").prefetch_related(
        Prefetch("slos", queryset=SLO.objects.order_by("target"))
    )
    page = Paginator(services, PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    slos = [slo for service in rows for slo in service.slos.all()]
    graphs = _graphs(slos, at)
    budgets = budget.counts(slos, at)  # one statement per budget window in use, or none
    incidents: dict[str, dict] = {}
    ids = [service.id for service in rows]
    for reader in INCIDENT_READERS:
        if ids:
            incidents.update(reader(ids))
    tiles = []
    for service in rows:
        service_slos = list(service.slos.all())
        state = max(
            (slo.state for slo in service_slos),
            key=STATE_RANK.__getitem__,
            default=SLO.State.NO_DATA,
        )
        tiles.append(
            Tile(
                service=service,
                state=state,
                slos=[
                    _slo_json(slo, graphs.get((slo.service_id, slo.target), {}), at, budgets)
                    for slo in service_slos
                ],
                incident=incidents.get(service.id),
                in_maintenance=any(slo.in_maintenance for slo in service_slos),
            )
        )
    owners = []
    if with_owners and may_view(user):
        owners = list(Service.objects.order_by("owner").values_list("owner", flat=True).distinct())
    return WarRoom(filterset=filterset, tiles=tiles, page=page, owners=owners, at=at)


def dry_run(run: ActionRun) -> bool:
    """Whether the run's last attempt only recorded its Kubernetes request (``KUBE_DRY_RUN``)."""
    attempts = (run.detail or {}).get("attempts") or []
    calls = attempts[-1].get("kubernetes") if attempts else None
    calls = calls if isinstance(calls, list) else [calls] if calls else []
    return bool(calls) and all(isinstance(c, dict) and c.get("dry_run") for c in calls)


@register_incident_reader
def open_incidents(service_ids: list[str]) -> dict[str, dict]:
    """The open incident of each service and its action timeline (two queries)."""
    runs = ActionRun.objects.order_by("due_at", "step", "position")
    incidents = Incident.objects.filter(
        service_id__in=service_ids, state=Incident.State.OPEN
    ).prefetch_related(Prefetch("actions", queryset=runs))
    return {
        incident.service_id: {
            "title": incident.condition,
            "opened_at": incident.opened_at,
            "url": reverse("admin:ops_incident_change", args=[incident.pk]),
            "timeline": [
                {
                    "at": run.finished_at or run.started_at or run.due_at,
                    "text": f"{run.trigger}: {run.action}",
                    "status": run.status,
                    "dry_run": dry_run(run),
                }
                for run in incident.actions.all()
            ],
        }
        for incident in incidents
    }
