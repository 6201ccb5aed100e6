"""What the dashboard, the baseline page and the public scorecard show, in fixed query counts.

Scoping is ``visible_to(user)`` (``apm.models.access``), as in the API. The
public scorecard reads only programs marked ``public`` and hands the template
only what is public: program code, name and
authority; baseline name, target, operator, latest status, latest actual and
the 90-day trend. Never the owner group, the probe or the evidence.

A promise whose latest run could not measure at all (status ``error``: e.g. a
``promql`` probe with no Prometheus reachable) is shown to the public as "not
measured", with a sentence saying the monitor failed, not the program: the
product still counts it as a 100 % deviation internally (dashboard, escalations),
but a citizen should not read a monitor outage as a broken promise. ``no_data``
(the source answered with nothing) stays what it is: a missing report.

The dashboard lists open escalations (age = time since the red streak
began) and open leadership-review tickets; the baseline page lists the
baseline's escalations and the notifications queued for them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import Permission
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Avg, F, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apm import card_baselines, maintenance, page_rows, pages_periods, quality, signoff
from apm.escalations import TOPIC as ESCALATION_TOPIC
from apm.models import Baseline, Deviation, Escalation, Program, Ticket
from apm.summary import summary_beside, with_age_counts
from apm.templatetags import hms_cards
from hms_site.sqlfunctions import EpochBucket
from ops.models import Notification

TREND_DAYS = 90
PROGRAMS_PER_PAGE = 20
HISTORY_ROWS = 50
SECTION_ROWS = 50
# The columns the dashboard shows (``only``), with the baseline's and program's names as
# annotations, not instances: 200 programs and 100 rows of escalations and tickets made
# ~500 model instances, a dozen unused datetimes converted a row, and each ``Baseline``
# runs its ``from_db`` bookkeeping (sign-off and probe snapshots) the list never reads.
PROGRAM_FIELDS = ("code", "name", "authority", "owner_group_id")
ESCALATION_FIELDS = ("baseline", "level", "message", "status", "red_since")
TICKET_FIELDS = ("baseline", "title", "created_at")


def _trend_since(at: datetime) -> datetime:
    return at - timedelta(days=TREND_DAYS)


def _bands(spans) -> list[list[int]]:
    return [[int(start.timestamp()), int(end.timestamp())] for start, end in spans]


def trends(baselines: list[Baseline], at: datetime) -> dict[int, dict]:
    """Per baseline: the daily mean of ``actual`` over 90 days with the target line, and the
    maintenance spans as grey bands; two queries. Runs in maintenance or with insufficient
    data are left out of the means (``Deviation.objects.counted``: docs/VERDICTS.md)."""
    if not baselines:
        return {}
    spans = maintenance.spans_by_baseline(baselines, _trend_since(at), at)
    daily = (
        Deviation.objects.counted()
        .filter(baseline__in=[b.pk for b in baselines], evaluated_at__gt=_trend_since(at))
        .annotate(day=EpochBucket("evaluated_at", 86400))
        .values("baseline_id", "day")
        .annotate(mean=Avg("actual"))
        .values_list("baseline_id", "day", "mean")
    )
    xs, ys = _daily_series(daily)
    since, until = int(_trend_since(at).timestamp()), int(at.timestamp())
    return {
        b.pk: {
            "from": since,
            "to": until,
            "x": xs[b.pk],
            "y": ys[b.pk],
            "line": b.target_value,
            "label": "actual (daily mean)",
            "lineLabel": f"target {b.get_compare_op_display().split()[0]} {b.target_value:g}",
            "bands": _bands(spans[b.pk]),
        }
        for b in baselines
    }


def _daily_series(daily) -> tuple[dict, dict]:
    """({baseline id: [day, …]}, {baseline id: [mean, …]}) in day order from ``daily`` (rows
    of baseline, day, mean). On PostgreSQL the database gathers each baseline's days into two
    arrays (40 rows instead of 3,600 at 40 cards: the per-row fetch and conversion were
    most of the trends' Python time); the means are the same ``AVG`` either way."""
    xs: dict[int, list[int]] = defaultdict(list)
    ys: dict[int, list[float | None]] = defaultdict(list)
    connection = connections[daily.db]
    if connection.vendor != "postgresql":
        for baseline_id, day, mean in daily.order_by("baseline_id", "day"):
            xs[baseline_id].append(day)
            ys[baseline_id].append(mean)
        return xs, ys
    inner, params = daily.order_by().query.sql_with_params()
    # ``inner`` is the ORM's own SQL (its values are in ``params``)
    arrays = "t.baseline_id, array_agg(t.day ORDER BY t.day), array_agg(t.mean ORDER BY t.day)"
    sql = f"SELECT {arrays} FROM ({inner}) t GROUP BY t.baseline_id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for baseline_id, days, means in cursor.fetchall():
            xs[baseline_id], ys[baseline_id] = days, means
    return xs, ys


@dataclass
class ProgramsPage:
    page: object
    programs: list[Program]
    trends: dict[int, dict]


def _programs_page(programs, params, at: datetime) -> ProgramsPage:
    """A page of ``programs`` (a queryset, or a list already read in ``code`` order) with
    their baselines' latest runs, trends, periods, sign-offs and data quality."""
    if not isinstance(programs, list):
        programs = programs.order_by("code")
    page = Paginator(programs, PROGRAMS_PER_PAGE).get_page(params.get("page"))
    rows = list(page.object_list)
    card_baselines.attach(rows)
    baselines = [b for program in rows for b in program.card_baselines]
    by_baseline = trends(baselines, at)
    pages_periods.attach(baselines, at)
    for b in baselines:
        b.trend = by_baseline[b.pk]
        b.chart_id = f"trend-{b.pk}"
    signoff.attach(baselines, at)
    for b in baselines:
        latest = {name: getattr(b, f"latest_{name}") for name in quality.FIELDS}
        words = quality.describe(latest, at) if b.latest_status else ""
        b.quality_words = "" if words == quality.NOT_RECORDED else words  # a card says less
    return ProgramsPage(page=page, programs=rows, trends=by_baseline)


def dashboard(user, params, at: datetime | None = None) -> dict:
    """Programs ``user`` may see with their baselines' status and trend, escalations, tickets,
    and the summary strip (``apm.summary``)."""
    at = at or timezone.now()
    load_permissions(user)
    # Every program the user sees, read once: the strip counts them all, the page shows 20.
    programs = list(Program.objects.visible_to(user).only(*PROGRAM_FIELDS).order_by("code"))
    escalations = open_escalations(user, at)
    page = _programs_page(programs, params, at)
    tickets = leadership_tickets(user)
    page_rows.prepare(escalations, tickets, page.programs)
    # the cards and rows are built while PostgreSQL adds up the strip's sums
    build = partial(hms_cards.dashboard_rows, page.programs, escalations, tickets, at)
    strip, rows = summary_beside(programs, escalations, at, build)
    return {
        "at": at,
        "summary": strip,
        "programs": page,
        "escalations": escalations,
        "tickets": tickets,
        "rows": rows,
    }


def load_permissions(user) -> None:
    """``user``'s permissions in one statement (``ModelBackend`` takes two), into the cache its
    ``get_all_permissions`` reads first; superusers and inactive users need none."""
    if not user.is_active or user.is_superuser or hasattr(user, "_perm_cache"):
        return
    rows = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    user._perm_cache = {f"{app}.{codename}" for app, codename in rows}


def open_escalations(user, at: datetime) -> list:
    """Open and acknowledged escalations, oldest red streak first, with their age; each row
    also carries the summary strip's counts of all of them by age (``with_age_counts``)."""
    visible = (
        Escalation.objects.visible_to(user)
        .open()
        .only(*ESCALATION_FIELDS)
        .annotate(baseline_name=F("baseline__name"), program_name=F("baseline__program__name"))
    )
    rows = list(with_age_counts(visible, at).order_by("red_since", "pk")[:SECTION_ROWS])
    for row in rows:
        row.age = at - row.red_since
    return rows


def leadership_tickets(user) -> list:
    return list(
        Ticket.objects.visible_to(user)
        .filter(kind=Ticket.Kind.LEADERSHIP_REVIEW, status=Ticket.Status.OPEN)
        .only(*TICKET_FIELDS)
        .annotate(baseline_name=F("baseline__name"))
        .order_by("created_at", "pk")[:SECTION_ROWS]
    )


def baseline_page(user, baseline_id: int, at: datetime | None = None) -> dict:
    """Everything that answers "why is it red?" for one baseline ``user`` may see (else 404)."""
    at = at or timezone.now()
    baseline = get_object_or_404(
        Baseline.objects.visible_to(user).with_data_age().select_related("program", "validated_by"),
        pk=baseline_id,
    )
    baseline.source = signoff.check(baseline, at)
    history = list(baseline.deviations.order_by("-evaluated_at", "-id")[:HISTORY_ROWS])
    for row in history:
        row.quality_words = quality.describe(row, at)
    latest = _latest_live(baseline, history)
    chart_rows = list(
        baseline.deviations.filter(evaluated_at__gt=_trend_since(at))
        .order_by("evaluated_at", "id")
        .values_list("evaluated_at", "actual")
    )
    spans = maintenance.spans_for_baseline(baseline, _trend_since(at), at)
    chart = {
        "bands": _bands(spans),
        "from": int(_trend_since(at).timestamp()),
        "to": int(at.timestamp()),
        "x": [int(when.timestamp()) for when, _ in chart_rows],
        "y": [actual for _, actual in chart_rows],
        "line": baseline.target_value,
        "label": "actual",
        "lineLabel": f"target {baseline.get_compare_op_display().split()[0]} "
        f"{baseline.target_value:g}",
    }
    escalations = list(baseline.escalations.order_by("-opened_at", "-pk")[:SECTION_ROWS])
    notifications = list(
        Notification.objects.filter(
            source_topic=ESCALATION_TOPIC, source_id__in=[str(e.pk) for e in escalations]
        )
        .select_related("channel")
        .order_by("-created_at", "-pk")[:SECTION_ROWS]
    )
    pages_periods.attach([baseline], at)
    return {
        "baseline": baseline,
        "latest": latest,
        "raw_result": json.dumps(latest.evidence.get("raw_result"), indent=2, default=str)
        if latest
        else "",
        "completeness_unknown": quality.unknown_completeness(latest) if latest else "",
        "history": history,
        "chart": chart,
        "maintenance_spans": spans,
        "escalations": escalations,
        "notifications": notifications,
        "at": at,
    }


def _latest_live(baseline: Baseline, history: list[Deviation]) -> Deviation | None:
    """The current state: the newest run that is not a backfill (from the history rows
    already read; one more query only when they are all backfills)."""
    for row in history:
        if row.trigger != Deviation.Trigger.BACKFILL:
            return row
    if len(history) < HISTORY_ROWS:
        return None
    return baseline.deviations.live().order_by("-evaluated_at", "-id").first()
