"""The demo's 90 days: programs whose promises are measured by ``metric`` probes, and their past.

``build(baselines, now)`` replays the last ``HISTORY_DAYS`` through the product's
own code, in time order: the demo services' readings (``ops.demo_history``) are
ingested as the server would have received them, and at each cron slot of each
``metric`` baseline the watchdog's ``run_baseline`` measures at that moment, so
the probe sees the samples of its window then. Nothing is written by hand: every
deviation, escalation, notification and ticket is what the services record.

Only ``metric`` baselines get a past: their probe reads the window ending at
the run's time. A ``sql`` probe runs its query as the data is now (it has no
notion of the run's time), so a past-dated run would claim a value it cannot
know; the demo's ``sql`` baselines are measured from now on, starting with the
live run below.

Then the watchdog runs live, now, and the daily escalation policies are applied,
as beat would; the retention purge finally drops the samples older than
``HMS_METRIC_RETENTION_DAYS`` (the deviations stay, as on a server that ran
for 90 days).

The replayed runs are the watchdog's, with their escalations: they run only for
baselines this load created, so there is no live escalation they could disturb,
and they are the demo's past, all before its first live run. An API caller's
past-dated run is a different thing (a ``backfill`` that never touches an
escalation, where the ledger has that trigger); the replay records ``command``
(this command ran them), never ``schedule`` (beat did not).
"""

from __future__ import annotations

import heapq
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

from apm import cron, explanations, policies, services
from apm.models import Baseline, Deviation, Explanation
from apm.review.quarters import Quarter
from ops import demo_history as ops_history
from ops.metrics import purge_expired

HISTORY_DAYS = ops_history.HISTORY_DAYS
# A baseline checked every 15 minutes would need 8,640 runs for 90 days; its most
# recent slots are enough to draw it (the daily ones get all 90).
MAX_SLOTS = 100
LIVE_READINGS_SECONDS = 300  # ops.demo loads these itself, every 10 s
REPLAY = Deviation.Trigger.COMMAND

PROGRAMS = [
    {
        "code": "tsa-checkpoints",
        "name": "TSA checkpoint screening",
        "authority": "TSA screening standard: 95 % of bags through the scanner queue within 30 s",
        "public": True,
    },
    {
        "code": "ssa-benefits-portal",
        "name": "SSA benefits portal",
        "authority": "SSA digital service standard: 99 % of portal requests answered in 0.8 s",
        "public": True,
    },
]

BASELINES = [
    {
        "program": "tsa-checkpoints",
        "name": "scanner_queue_p95_seconds",
        "target_value": 30,
        "compare_op": Baseline.CompareOp.LE,
        "threshold_pct": 20,
        "schedule": "0 2 * * *",
        "probe_kind": Baseline.ProbeKind.METRIC,
        "probe_query": 'p95(queue_time_seconds{service="DCA_Luggage_Scanner"}[1d])',
    },
    {
        "program": "ssa-benefits-portal",
        "name": "portal_latency_p99_seconds",
        "target_value": 0.8,
        "compare_op": Baseline.CompareOp.LE,
        "threshold_pct": 20,
        "schedule": "0 2 * * *",
        "probe_kind": Baseline.ProbeKind.METRIC,
        "probe_query": 'p99(request_latency_seconds{service="Benefits_Portal_API"}[1d])',
    },
]

# The scanner has been red for three weeks: past the 14 days, a leadership review.
POLICIES = """\
- baseline: scanner_queue_p95_seconds
  program: tsa-checkpoints
  after_days_no_fix: 14
  action: "recommend_leadership_review"
"""


def slots(baseline: Baseline, since: datetime, until: datetime) -> list[datetime]:
    """The baseline's cron slots in ``(since, until]``, at most the latest ``MAX_SLOTS``."""
    found = []
    at = cron.previous(baseline.schedule, until)
    while at > since and len(found) < MAX_SLOTS:
        found.append(at)
        at = cron.previous(baseline.schedule, at - timedelta(seconds=1))
    return found[::-1]


# What the program's staff would write for the review once the promise broke (docs/REVIEW.md).
EXPLANATION = {
    "baseline": "scanner_queue_p95_seconds",
    "why": "Two of the four checkpoint lanes have been closed for belt repairs since the "
    "new scanner firmware was installed; the queue waits on the two that are left.",
    "plan": "Reopen one lane with a loaned scanner this week, the second after the "
    "vendor's repair, and staff both at the morning peak.",
    "due_days": 45,
}


def _explain_the_broken_promise(baselines: list[Baseline], now: datetime) -> list[str]:
    broken = [b for b in baselines if b.name == EXPLANATION["baseline"]]
    if not broken:
        return []
    explanation = Explanation(
        baseline=broken[0],
        period=str(Quarter.containing(now)),
        why=EXPLANATION["why"],
        plan=EXPLANATION["plan"],
        due_date=(now + timedelta(days=EXPLANATION["due_days"])).date(),
    )
    explanations.save(explanation, actor="hms_demo")
    return [f"explanation: {broken[0].name} {explanation.period}"]


@contextmanager
def _quiet(name: str):
    """Hundreds of replayed runs would each log a line at INFO; keep warnings."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def build(baselines: list[Baseline], now: datetime | None = None) -> list[str]:
    """Replay ``HISTORY_DAYS`` for ``baselines`` (just created), then run them live now."""
    if not baselines:
        return []
    now = now or timezone.now()
    since = now - timedelta(days=HISTORY_DAYS)
    replayed = [b for b in baselines if b.probe_kind == Baseline.ProbeKind.METRIC]
    runs = heapq.merge(*[[(at, b.pk, b) for at in slots(b, since, now)] for b in replayed])
    # The longest window a demo metric probe reads is one day: start the readings before it.
    ingested_until = since - timedelta(days=1)
    samples = evaluations = 0
    with _quiet(services.__name__):
        for at, _, baseline in runs:
            if at > ingested_until:
                samples += ops_history.replay(ingested_until, at, now)
                ingested_until = at
            services.run_baseline(baseline, at=at, trigger=REPLAY)
            evaluations += 1
    live_from = now - timedelta(seconds=LIVE_READINGS_SECONDS)
    if live_from > ingested_until:
        samples += ops_history.replay(ingested_until, live_from, now)
    lines = [f"history: {samples} readings, {evaluations} evaluations over {HISTORY_DAYS} days"]
    for deviation in services.run_all(baselines, trigger=Deviation.Trigger.COMMAND):
        lines.append(f"watchdog now: {deviation.baseline.name} {deviation.status}")
    for policy in policies.load(POLICIES, source="hms_demo", actor="hms_demo"):
        lines.append(f"policy {policy}: loaded")
    for ticket in policies.apply_policies(now):
        lines.append(f"ticket: {ticket.title}")
    lines += _explain_the_broken_promise(baselines, now)
    purged = purge_expired(now)
    if purged:
        lines.append(f"retention: {purged} readings older than the retention purged")
    return lines
