"""The executive dashboard's summary strip: programs kept / at risk / off track, escalations by age.

A program's state this quarter is its worst promise's quarterly review
(``apm.review.status``: the same rule as the review page): any promise
``off_track`` → off track; else any ``at_risk`` → at risk; else any
``on_track`` → kept; else (nothing measured enough yet) not enough data.

Open escalations (open or acknowledged) are counted by the age of their red
streak in ``AGE_BUCKETS``. One statement whatever the number of programs: the
programs are read by the dashboard, which shows them too, and the ages are window
counts on the dashboard's list of open escalations (``with_age_counts``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, FloatField, Func, Q, Window

from apm.models import Baseline, Deviation, Program
from apm.review.quarters import Quarter
from apm.review.status import DAY, MEASURED, judge_points

# (key, words, youngest age, oldest age): the strip's buckets, youngest first
AGE_BUCKETS = (
    ("day", "under a day", timedelta(0), timedelta(days=1)),
    ("week", "1 to 7 days", timedelta(days=1), timedelta(days=7)),
    ("month", "7 to 30 days", timedelta(days=7), timedelta(days=30)),
    ("older", "over 30 days", timedelta(days=30), None),
)
PROGRAM_STATES = (
    ("off_track", "off track"),
    ("at_risk", "at risk"),
    ("kept", "kept"),
    ("insufficient_data", "not enough data"),
)


def program_state(statuses: list[str]) -> str:
    for status in ("off_track", "at_risk"):
        if status in statuses:
            return status
    return "kept" if "on_track" in statuses else "insufficient_data"


def with_age_counts(escalations, at: datetime):
    """``escalations`` with ``age_<bucket>``: how many rows of the whole (unsliced) set fall
    in each of ``AGE_BUCKETS``, as window counts, so a page's first rows carry the strip's
    counts in the same statement."""
    counts = {}
    for key, _, young, old in AGE_BUCKETS:
        age = Q(red_since__lte=at - young)
        if old is not None:
            age &= Q(red_since__gt=at - old)
        counts[f"age_{key}"] = Window(Count("id", filter=age))
    return escalations.annotate(**counts)


def escalation_ages(rows) -> list[dict]:
    """The strip's buckets from rows annotated by ``with_age_counts`` (none: all zero)."""
    first = rows[0] if rows else None
    return [
        {"key": key, "label": label, "count": getattr(first, f"age_{key}", 0) or 0}
        for key, label, _, _ in AGE_BUCKETS
    ]


class EpochSeconds(Func):
    """``expression`` (a datetime) as Unix epoch seconds, a float computed by the database."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"EXTRACT(EPOCH FROM {sql})::double precision", params

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])  # UTC text
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", params


def quarter_statuses(program_ids: list[int], quarter: Quarter, at: datetime) -> dict:
    """{program id: [the review status of each active promise measured this quarter]}, in one
    statement: the quarter's counted evaluations (times as epoch seconds: no ``datetime``
    a row) with the few baseline fields ``judge_points`` reads. A promise without an
    evaluation this quarter is ``insufficient_data``, which never decides a program's
    state, so it needs no row."""
    until = min(at, quarter.end)
    rows = (
        Deviation.objects.counted()
        .filter(
            baseline__program_id__in=program_ids,
            baseline__active=True,
            evaluated_at__gte=quarter.start,
            evaluated_at__lt=until,
        )
        .annotate(epoch=EpochSeconds("evaluated_at"))
        .order_by()
        .values_list(
            "baseline_id",
            "baseline__program_id",
            "baseline__target_value",
            "baseline__compare_op",
            "baseline__threshold_pct",
            "epoch",
            "actual",
            "status",
        )
    )
    start = quarter.start.timestamp()
    baselines: dict[int, Baseline] = {}
    evaluations: dict[int, list] = defaultdict(list)
    for pk, program_id, target, op, threshold, epoch, actual, status in rows:
        if pk not in baselines:
            baselines[pk] = Baseline(
                pk=pk,
                program_id=program_id,
                target_value=target,
                compare_op=op,
                threshold_pct=threshold,
            )
        evaluations[pk].append(((epoch - start) / DAY, actual if status in MEASURED else None))
    by_program: dict[int, list[str]] = {pk: [] for pk in program_ids}
    for pk, baseline in baselines.items():
        rows_in_order = sorted(evaluations[pk], key=lambda r: r[0])
        points = [(x, v) for x, v in rows_in_order if v is not None]
        one = judge_points(baseline, points, len(rows_in_order) - len(points), quarter)
        by_program[baseline.program_id].append(one.status)
    return by_program


def summary(programs: list[Program], escalations: list, at: datetime) -> dict:
    """Context for the strip: the quarter, ``programs`` (those the user sees) per state, and
    the open escalations the user sees per age (``escalations``: the dashboard's rows,
    annotated ``with_age_counts``); one statement."""
    quarter = Quarter.containing(at)
    by_program = quarter_statuses([p.pk for p in programs], quarter, at)
    counts = dict.fromkeys((key for key, _ in PROGRAM_STATES), 0)
    for statuses in by_program.values():
        counts[program_state(statuses)] += 1
    ages = escalation_ages(escalations)
    return {
        "quarter": quarter,
        "programs": [
            {"key": key, "label": label, "count": counts[key]} for key, label in PROGRAM_STATES
        ],
        "program_total": len(by_program),
        "escalation_ages": ages,
        "escalation_total": sum(bucket["count"] for bucket in ages),
    }
