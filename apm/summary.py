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

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.postgres.aggregates import RegrAvgX, RegrAvgY, RegrCount, RegrSXX, RegrSXY
from django.db import connections
from django.db.models import Count, F, Q, Sum, Window

from apm import prepared_reads, strip_sums
from apm.models import Baseline, Program
from apm.review.quarters import Quarter
from apm.review.status import MEASURED, Sums, judge_sums, length_days
from hms_site.sqlfunctions import DaysSince

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


@dataclass(frozen=True)
class Promise:
    """The fields of a baseline the review's rule reads (``kept``, its direction), with the
    model's own ``deviation_pct``: the strip judges every visible promise (400 at 200
    programs), and building a ``Baseline`` (22 fields and their defaults) cost ~24 µs each."""

    pk: int
    program_id: int
    target_value: float
    compare_op: str
    threshold_pct: float
    CompareOp = Baseline.CompareOp
    deviation_pct = Baseline.deviation_pct


def _least_squares(vendor: str, x, y) -> dict:
    """The aggregates of one baseline's line: on PostgreSQL its own ``regr_*`` (centred, and
    the five share one running state, so each row is read once: ~40 % of the statement's
    time over 25,600 rows); elsewhere the raw sums, centred by ``Sums.from_raw``."""
    if vendor == "postgresql":
        return {
            "n": RegrCount(y, x),
            "mean_x": RegrAvgX(y, x),
            "mean_y": RegrAvgY(y, x),
            "sxx": RegrSXX(y, x),
            "sxy": RegrSXY(y, x),
        }
    return {"n": Count(y), "sx": Sum(x), "sy": Sum(y), "sxy": Sum(x * y), "sxx": Sum(x * x)}


def quarter_sums(program_ids: list[int], quarter: Quarter, at: datetime) -> list:
    """[(``Promise``, ``Sums``)] of every active promise of ``program_ids`` measured this quarter,
    in one statement (``quarter_sums_beside``)."""
    return quarter_sums_beside(program_ids, quarter, at, _nothing)[0]


def _nothing() -> None:
    return None


def quarter_sums_beside(program_ids: list[int], quarter: Quarter, at: datetime, work) -> tuple:
    """``(quarter_sums(program_ids, quarter, at), work())``. On PostgreSQL the statement is
    ``strip_sums.SQL`` (written once) and, outside a transaction, it is prepared per
    connection and ``work``, which must not use the database, runs while the server adds
    the sums up (``prepared_reads.fetchall_beside``; inside one, the statement and then
    ``work``); elsewhere the ORM's statement (``orm_quarter_sums``), then ``work``."""
    if connections[Baseline.objects.db].vendor != "postgresql":
        return orm_quarter_sums(program_ids, quarter, at), work()
    rows, done = prepared_reads.fetchall_beside(
        strip_sums.SQL, strip_sums.params(program_ids, quarter.start, min(at, quarter.end)), work
    )
    return [(Promise(*row[:5]), Sums(*row[5:])) for row in rows], done


def orm_quarter_sums(program_ids: list[int], quarter: Quarter, at: datetime) -> list:
    """``quarter_sums`` through the ORM (SQLite, and what the PostgreSQL statement is checked
    against): the database adds up each baseline's least-squares sums over the
    quarter's counted evaluations with a value (x in days from the quarter's start,
    ``DaysSince``) and returns one row a baseline with the few baseline fields the rule
    reads. The statement reads from the baselines so that PostgreSQL groups by the
    baseline's key alone (the other four fields follow from it); grouped by all five, the
    hashing cost ~15 % of the statement over 25,600 rows."""
    until = min(at, quarter.end)
    vendor = connections[Baseline.objects.db].vendor
    figures = _least_squares(
        vendor, DaysSince("deviations__evaluated_at", quarter.start), F("deviations__actual")
    )
    promise = ("pk", "program_id", "target_value", "compare_op", "threshold_pct")
    rows = (
        Baseline.objects.filter(
            # one filter(): every condition is on the same deviation row (one join)
            program_id__in=program_ids,
            active=True,
            deviations__evaluated_at__gte=quarter.start,
            deviations__evaluated_at__lt=until,
            # ``Deviation.objects.counted()``: out of maintenance, and the measured statuses
            # (no ``insufficient_data``): the runs with a value, the strip counts no other
            deviations__in_maintenance=False,
            deviations__status__in=MEASURED,
            deviations__actual__isnull=False,
        )
        .values(*promise)
        .annotate(**figures)
        .order_by()
        .values_list(*promise, *figures)
    )
    make = Sums if vendor == "postgresql" else Sums.from_raw
    return [(Promise(*row[:5]), make(*row[5:])) for row in rows]


def quarter_statuses(program_ids: list[int], quarter: Quarter, at: datetime) -> dict:
    """{program id: [the review status of each active promise measured this quarter]}: each
    promise's ``quarter_sums`` judged by ``judge_sums``, the review page's rule. A promise
    without an evaluation this quarter is ``insufficient_data``, which never decides a
    program's state, so it needs no row; only the status is read, so the runs without a
    value are not counted (``missing`` 0)."""
    return _statuses(program_ids, quarter, quarter_sums(program_ids, quarter, at))


def _statuses(program_ids: list[int], quarter: Quarter, sums: list) -> dict:
    by_program: dict[int, list[str]] = {pk: [] for pk in program_ids}
    days = length_days(quarter)
    for baseline, line in sums:
        by_program[baseline.program_id].append(judge_sums(baseline, line, 0, days).status)
    return by_program


def summary(programs: list[Program], escalations: list, at: datetime) -> dict:
    """Context for the strip: the quarter, ``programs`` (those the user sees) per state, and
    the open escalations the user sees per age (``escalations``: the dashboard's rows,
    annotated ``with_age_counts``); one statement."""
    return summary_beside(programs, escalations, at, _nothing)[0]


def summary_beside(programs: list[Program], escalations: list, at: datetime, work) -> tuple:
    """``(summary(programs, escalations, at), work())``, ``work`` (no database) run while the
    database adds up the strip's sums (``quarter_sums_beside``)."""
    quarter = Quarter.containing(at)
    program_ids = [p.pk for p in programs]
    sums, done = quarter_sums_beside(program_ids, quarter, at, work)
    by_program = _statuses(program_ids, quarter, sums)  # ``quarter_statuses``
    counts = dict.fromkeys((key for key, _ in PROGRAM_STATES), 0)
    for statuses in by_program.values():
        counts[program_state(statuses)] += 1
    ages = escalation_ages(escalations)
    strip = {
        "quarter": quarter,
        "programs": [
            {"key": key, "label": label, "count": counts[key]} for key, label in PROGRAM_STATES
        ],
        "program_total": len(by_program),
        "escalation_ages": ages,
        "escalation_total": sum(bucket["count"] for bucket in ages),
    }
    return strip, done
