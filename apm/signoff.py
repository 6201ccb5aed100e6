"""Data-source sign-off and data freshness: can the numbers behind a promise be trusted?

Program staff vouch for a baseline's ``data_source`` (``renew``: the admin's
"Sign off data source" action and ``POST /api/v1/baselines/{id}/sign-off/``; one
``apm.config`` audit entry each). The rules (docs/REVIEW.md):

- A baseline without a sign-off is **not signed off**.
- A sign-off older than ``HMS_VALIDATION_MAX_AGE_DAYS`` is **stale** (renew it).
- Changing ``data_source``, ``probe_kind`` or ``probe_query`` clears the sign-off
  (``Baseline.save``): it vouched for another source.
- The data is **stale** when the newest measured value (``newest_data_at``: the
  newest live run with a value) is older than ``STALE_RUNS`` scheduled runs: at
  least that many of the baseline's cron fire times have passed since it.
- The data is **incomplete** when that run's ``completeness`` is below
  ``HMS_COMPLETENESS_MIN`` (``apm.quality``; docs/VERDICTS.md).

``check`` turns those into sentences for the pages; it needs a baseline
annotated by ``Baseline.objects.with_data_age()`` (no query of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timesince

from apm import config_audit, cron, quality
from apm.models import Baseline

STALE_RUNS = 3


class NotYours(PermissionError):
    """Only staff of the program's owner group (or a superuser) may sign its data off."""


def max_age() -> timedelta:
    return timedelta(days=settings.HMS_VALIDATION_MAX_AGE_DAYS)


def renew(baseline: Baseline, *, actor, at: datetime | None = None) -> Baseline:
    """Sign ``baseline``'s data source off as of ``at`` (now), audited; staff of its program."""
    if not baseline.program.editable_by(actor):
        raise NotYours("Only staff of the program's owner group may sign its data source off.")
    with transaction.atomic():
        current = Baseline.objects.select_for_update().select_related("program").get(pk=baseline.pk)
        current.validated_by = actor
        current.validated_at = at or timezone.now()
        config_audit.save(current, actor=actor)
    baseline.validated_by, baseline.validated_at = current.validated_by, current.validated_at
    return current


def _ago(moment: datetime, at: datetime) -> str:
    return "just now" if at - moment < timedelta(minutes=1) else f"{timesince(moment, at)} ago"


def data_is_stale(schedule: str, newest: datetime | None, at: datetime) -> bool:
    """``STALE_RUNS`` fire times of ``schedule`` have passed since ``newest`` (or none ever).

    Fire times are whole minutes, so that is ``newest`` before the ``STALE_RUNS``-th latest
    fire time at or before ``at``: found once per schedule and moment (``_stale_line``), not
    three cron steps per baseline (a dashboard of 40 baselines spent 40 ms on them)."""
    if newest is None:
        return False  # never measured: the pages say "not measured yet" instead
    line = _stale_line(schedule, at)
    return line is not None and newest < line


@lru_cache(maxsize=256)
def _stale_line(schedule: str, at: datetime) -> datetime | None:
    try:
        fire = cron.previous(schedule, at)
        for _ in range(STALE_RUNS - 1):
            fire = cron.previous(schedule, fire - timedelta(minutes=1))
    except cron.CronError:
        return None
    return fire


@dataclass
class SourceCheck:
    signed: str  # "Signed off by alice 3 months ago" / "Data source not signed off"
    flags: list[str] = field(default_factory=list)  # each problem, as a sentence
    state: str = "current"  # current / unsigned / stale_signoff
    stale_data: bool = False
    low_completeness: bool = False
    short: list[str] = field(default_factory=list)  # the same problems in a few words

    @property
    def ok(self) -> bool:
        return not self.flags

    def as_dict(self) -> dict:
        return {
            "signoff": self.state,
            "stale_data": self.stale_data,
            "low_completeness": self.low_completeness,
            "summary": self.signed,
            "flags": self.flags,
        }


def check(baseline: Baseline, at: datetime | None = None) -> SourceCheck:
    """The sign-off and freshness of ``baseline`` (annotated ``with_data_age``) in words."""
    at = at or timezone.now()
    flags, short = [], []
    if baseline.validated_at is None:
        state, signed = "unsigned", "Data source not signed off"
        flags.append("Data source not signed off: program staff have not vouched for it yet.")
        short.append("Data source not signed off")
    else:
        who = baseline.validated_by.get_username() if baseline.validated_by else "a former user"
        signed = f"Signed off by {who} {_ago(baseline.validated_at, at)}"
        state = "current"
        if at - baseline.validated_at > max_age():
            state = "stale_signoff"
            flags.append(
                f"Sign-off out of date: given {_ago(baseline.validated_at, at)}, "
                f"renew it every {settings.HMS_VALIDATION_MAX_AGE_DAYS} days."
            )
            short.append(f"Sign-off out of date ({_ago(baseline.validated_at, at)})")
    newest = getattr(baseline, "newest_data_at", None)
    stale = data_is_stale(baseline.schedule, newest, at)
    if stale:
        flags.append(
            f"Stale data: the newest value was measured {_ago(newest, at)}, "
            f"{STALE_RUNS} or more scheduled runs ago."
        )
        short.append(f"Stale data: newest value {_ago(newest, at)}")
    complete = getattr(baseline, "newest_completeness", None)
    low = quality.low_completeness(complete)
    if low:
        flags.append(
            f"Incomplete data: the newest value rests on {complete * 100:.0f} % of the samples "
            f"its window should hold (below {settings.HMS_COMPLETENESS_MIN * 100:.0f} %)."
        )
        short.append(f"Incomplete data: {complete * 100:.0f} % of the samples")
    return SourceCheck(signed, flags, state, stale, short=short, low_completeness=low)


def attach(baselines, at: datetime | None = None) -> None:
    """Set ``source`` (a ``SourceCheck``) on each baseline; no query when the annotations and
    ``validated_by`` are loaded (``with_data_age().select_related("validated_by")``)."""
    at = at or timezone.now()
    for baseline in baselines:
        baseline.source = check(baseline, at)
