"""The executive dashboard's summary strip: programs kept / at risk / off track, escalations by age.

A program's state this quarter is its worst promise's quarterly review
(``apm.review.status``: the same rule as the review page): any promise
``off_track`` → off track; else any ``at_risk`` → at risk; else any
``on_track`` → kept; else (nothing measured enough yet) not enough data.

Open escalations (open or acknowledged) are counted by the age of their red
streak in ``AGE_BUCKETS``. Four statements whatever the number of programs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q

from apm.models import Baseline, Escalation, Program
from apm.review.quarters import Quarter
from apm.review.status import review

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


def escalation_ages(user, at: datetime) -> list[dict]:
    """Open escalations ``user`` may see, counted per age bucket: one statement."""
    counts = {}
    for key, _, young, old in AGE_BUCKETS:
        age = Q(red_since__lte=at - young)
        if old is not None:
            age &= Q(red_since__gt=at - old)
        counts[key] = Count("id", filter=age)
    found = Escalation.objects.visible_to(user).open().aggregate(**counts)
    return [
        {"key": key, "label": label, "count": found[key] or 0} for key, label, _, _ in AGE_BUCKETS
    ]


def summary(user, at: datetime) -> dict:
    """Context for the strip: the quarter, programs per state, escalations per age."""
    quarter = Quarter.containing(at)
    programs = Program.objects.visible_to(user)
    baselines = Baseline.objects.filter(program__in=programs, active=True)
    by_program: dict[int, list[str]] = {pk: [] for pk in programs.values_list("pk", flat=True)}
    for row in review(baselines, quarter, at, details=False):
        by_program[row.baseline.program_id].append(row.status)
    counts = dict.fromkeys((key for key, _ in PROGRAM_STATES), 0)
    for statuses in by_program.values():
        counts[program_state(statuses)] += 1
    ages = escalation_ages(user, at)
    return {
        "quarter": quarter,
        "programs": [
            {"key": key, "label": label, "count": counts[key]} for key, label in PROGRAM_STATES
        ],
        "program_total": len(by_program),
        "escalation_ages": ages,
        "escalation_total": sum(bucket["count"] for bucket in ages),
    }
