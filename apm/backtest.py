"""Backtest (what-if): replay a baseline's probe over past times with candidate settings.

Nothing is written: the candidate is an unsaved copy of the baseline, each
evaluation an unsaved ``Deviation`` built by the watchdog's own
``services.evaluate``, and the escalation state a local variable moved by
``apm.escalation_rules.decide`` (the rule ``apm.escalations`` applies live).
The database is only read (routes, channels, policies). A rolling PromQL
baseline asks Prometheus ONE ``query_range``; any other probe measures each
time (bounded by ``backtest_input.MAX_POINTS``). docs/VERDICTS.md, "Backtest".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from apm import backtest_input as given
from apm import backtest_points as points
from apm import escalation_rules as rules
from apm import notices, policies, prepared_reads, services
from apm.models import Baseline, EscalationPolicy, EscalationRoute
from apm.models.escalation import level_rank
from apm.probes import ProbeError, Reading, probe_for
from ops.models import Channel

# The daily policy task's time (settings.CELERY_BEAT_SCHEDULE "apm-escalation-policies").
POLICY_HOUR, POLICY_MINUTE = 2, 30


def candidate(baseline: Baseline, data: dict) -> Baseline:
    """An unsaved copy of ``baseline`` with the candidate settings of ``data``, checked."""
    # copy.copy(baseline) without its pickle round (model_unpickle's app registry lookup):
    # Django's own state (a copied ``_state`` and fields cache) on a new instance.
    chosen = type(baseline).__new__(type(baseline))
    chosen.__setstate__(baseline.__reduce__()[2])
    errors = {}
    for field, minimum in (("target_value", None), ("threshold_pct", 0)):
        try:
            value = given.number(data.get(field), field, minimum=minimum)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if value is not None:
            setattr(chosen, field, value)
    try:
        samples = given.number(data.get("min_samples"), "min_samples", minimum=1, integer=True)
        if samples is not None:
            chosen.min_samples = samples
        period = given.period_choice(data.get("period"))
        if period is not None:
            chosen.period = period
    except ValidationError as exc:
        errors.update(exc.message_dict)
    op = data.get("compare_op")
    if op is not None:
        if op not in Baseline.CompareOp.values:
            errors["compare_op"] = [f"one of {', '.join(Baseline.CompareOp.values)}"]
        else:
            chosen.compare_op = op
    if chosen.target_value == 0:
        errors["target_value"] = ["a target of 0 is refused: percent deviation is undefined"]
    if errors:
        raise ValidationError(errors)
    chosen.check_period()  # a period needs a query that takes it (ValidationError names it)
    chosen.check_min_samples()  # above 1 needs a count query (ValidationError names it)
    return chosen


def _one_range(chosen: Baseline) -> bool:
    """A rolling PromQL baseline: its points are ONE ``query_range``."""
    return chosen.probe_kind == Baseline.ProbeKind.PROMQL and (
        chosen.period == Baseline.Period.ROLLING
    )


def readings(chosen: Baseline, span: given.Range) -> list[tuple[Reading, str]]:
    """``(reading, error)`` per time, as the live watchdog would have measured them."""
    if _one_range(chosen):
        return _from_range(chosen, span.since, points.count(span), span.step)
    return [services.measure(chosen, t) for t in span.times]


def _from_range(chosen: Baseline, since: datetime, count: int, step: int) -> list:
    """ONE ``query_range`` (value and count together when ``min_samples`` is above 1)."""
    probe = probe_for(chosen.probe_kind)
    last = since + timedelta(seconds=(count - 1) * step)
    missing = (Reading(None, None, "Prometheus returned an empty result (no such series)"), "")
    first = since.timestamp()  # the answer's times are first + k * step (whole: exact)
    times = [first + k * step for k in range(count)]
    if not first.is_integer():
        times = [round(t, 3) for t in times]
    try:
        if chosen.min_samples > 1:
            found = probe.measure_range_counting(
                chosen.probe_query, chosen.count_query, since, last, step
            )
        else:  # the pairs straight from the answer, one per value
            query = chosen.probe_query
            return probe.measure_steps(query, since, last, step, times, _pair, missing)
    except ProbeError as exc:
        return [(Reading(None), str(exc))] * count
    return [missing if (r := found.get(t)) is None else _pair(r) for t in times]


def _pair(reading: Reading) -> tuple[Reading, str]:
    """A step's ``(reading, error)``: a sample that is not a number is the step's error."""
    return (Reading(None), reading.reason) if reading.details else (reading, "")


def _measured_and_read(chosen: Baseline, span: given.Range):
    """``(readings, reads or None, the times' texts)``: for one ``query_range``, the routes
    and policies read, its statement sent before the request and its rows read after
    (``prepared_reads.fetchall_beside``), and the texts written after."""
    if not _one_range(chosen):
        return readings(chosen, span), None, points.iso_times(span)

    def measured_and_texts():
        measured = _from_range(chosen, span.since, points.count(span), span.step)
        return measured, points.iso_times(span)

    rows, (measured, texts) = prepared_reads.fetchall_beside(
        _READS_SQL, _reads_params(chosen), measured_and_texts
    )
    return measured, _reads_of(rows), texts


_ROUTE, _CHANNEL, _POLICY = EscalationRoute._meta, Channel._meta, EscalationPolicy._meta


def _col(meta, name: str) -> str:
    return meta.get_field(name).column


# Written out once from the models' metadata, as apm.escalation_statements does: the ORM's
# compilation of these reads costs more than the rest of a 90-point backtest. Beside one
# ``query_range`` it is planned while the request is out (``prepared_reads.fetchall_beside``);
# alone it runs prepared (PostgreSQL's planning costs more than its execution). One
# statement: the routes (``route`` rows) and the review policies' days (``policy`` rows).
_READS_SQL = (
    f"SELECT 'route', r.{_col(_ROUTE, 'min_level')}, c.{_CHANNEL.pk.column},"  # noqa: S608
    f" c.{_col(_CHANNEL, 'kind')}, r.{_ROUTE.pk.column}"
    f" FROM {_ROUTE.db_table} r JOIN {_CHANNEL.db_table} c"
    f" ON c.{_CHANNEL.pk.column} = r.{_col(_ROUTE, 'channel')}"
    f" WHERE r.{_col(_ROUTE, 'active')} = %s AND c.{_col(_CHANNEL, 'enabled')} = %s"
    f" AND (r.{_col(_ROUTE, 'program')} IS NULL OR r.{_col(_ROUTE, 'program')} = %s)"
    f" UNION ALL SELECT 'policy', NULL, {_col(_POLICY, 'after_days_no_fix')}, NULL, 0"
    f" FROM {_POLICY.db_table}"
    f" WHERE {_col(_POLICY, 'baseline')} = %s AND {_col(_POLICY, 'active')} = %s"
    f" AND {_col(_POLICY, 'action')} = %s"
    " ORDER BY 1 DESC, 5"
)


def _reads_params(baseline: Baseline) -> list:
    action = str(EscalationPolicy.Action.RECOMMEND_LEADERSHIP_REVIEW)
    return [True, True, baseline.program_id, baseline.pk, True, action]


def _reads(baseline: Baseline) -> tuple[list[tuple[int, int, bool]], list[int]]:
    """The routes ``apm.escalations.routes_for`` picks from (levels are filtered per run)
    and the ``after_days_no_fix`` of the baseline's active leadership-review policies."""
    return _reads_of(prepared_reads.fetchall(_READS_SQL, _reads_params(baseline)))


def _reads_of(rows: list[tuple]) -> tuple[list[tuple[int, int, bool]], list[int]]:
    """Each active route as ``(its minimum level's rank, its channel's pk, whether that
    channel takes follow-ups)`` (``EscalationRoute.accepts``, ``notices.takes_follow_ups``
    without model instances), and the policies' days."""
    routes = [
        (level_rank(level), pk, notices.kind_takes_follow_ups(kind))
        for what, level, pk, kind, _ in rows
        if what == "route"
    ]
    return routes, [days for what, _, days, _, _ in rows if what == "policy"]


def _reviews(streaks, days_list: list[int]) -> int:
    """Leadership-review tickets: one per policy and streak red ``days`` without a fix,
    at the first daily check past the policy's cutoff (``policies.review_due``). The
    cutoff only grows with the check's time: a streak is due at some check iff at its last."""
    count = 0
    for red_since, ended in streaks:
        last = points.last_policy_check(ended, POLICY_HOUR, POLICY_MINUTE)
        if last < red_since:
            continue
        count += sum(policies.review_due(red_since, last, days) for days in days_list)
    return count


def _entry(chosen: Baseline, open_level, pair, reads, tables: dict):
    """``(reads, (point, red, event, level after, its memo table))``: one point's answer
    (its ``at`` to be set), whether red, ``(action, channels told or None)`` when it opens,
    announces or resolves (else None), and the level open after it; the routes are read
    when it announces, if not yet."""
    reading, error = pair
    status, pct = services.verdict(chosen, reading, error)
    decision = rules.decide(
        open_level=open_level, status=status, deviation_pct=pct, threshold_pct=chosen.threshold_pct
    )
    taking = None
    if decision.announces:
        reads = reads or _reads(chosen)
        rank = level_rank(decision.level)
        taking = [(pk, follows) for least, pk, follows in reads[0] if rank >= least]
    point = {"at": None, "actual": reading.value, "deviation_pct": pct, "status": status,
             "escalation": decision.action, "reason": error or reading.reason}  # fmt: skip
    event = None
    if taking is not None or decision.action in (rules.OPEN, rules.RESOLVE):
        event = (decision.action, taking)
    after = tables.setdefault(decision.level, {})
    return reads, (point, status in rules.RED_STATUSES, event, decision.level, after)


def run(baseline: Baseline, data: dict, now: datetime | None = None) -> dict:
    """The backtest of ``baseline`` with ``data``'s candidate settings; writes nothing."""
    now = now or timezone.now()
    chosen = candidate(baseline, data)
    span = given.time_range(data, lambda at: given.schedule_interval(chosen.schedule, at), now=now)
    since, step = span.since, span.step
    # A rolling PromQL baseline's routes and policies are read while its request is out;
    # any other's once, when the first escalation would be announced.
    measured, reads, texts = _measured_and_read(chosen, span)
    red_since, told = None, {}
    breaches = opened = notifications = 0
    streaks, out = [], []
    # Each point's answer and decision are pure functions of its (reading, error) pair
    # (shared per value) and the level open before it (a 90-day history has a handful of
    # each): computed once per distinct pair and level, in one memo table per level open
    # (keyed by the pair's identity: the pairs live in ``measured`` until the end).
    tables: dict = {None: {}}
    table, OPEN, RESOLVE, append = tables[None], rules.OPEN, rules.RESOLVE, out.append
    open_level = None  # the level of the escalation open (None: none)
    for k, (at, pair) in enumerate(zip(texts, measured, strict=True)):
        entry = table.get(id(pair))
        if entry is None:
            reads, entry = _entry(chosen, open_level, pair, reads, tables)
            table[id(pair)] = entry
        template, red, event, open_level, table = entry
        point = template.copy()
        point["at"] = at
        append(point)
        breaches += red
        if event is None:
            continue
        action, taking = event
        if action == OPEN:
            opened += 1
            red_since, told = since + timedelta(seconds=k * step), {}
        if taking is not None:  # announced: each route that takes the level is told
            notifications += len(taking)
            told.update(taking)
        elif action == RESOLVE:
            notifications += sum(told.values())  # the told channels that take follow-ups
            streaks.append((red_since, since + timedelta(seconds=k * step)))
    if open_level is not None:
        streaks.append((red_since, span.until + timedelta(microseconds=1)))
    return {
        "baseline": baseline.pk,
        "since": span.since.isoformat(),
        "until": span.until.isoformat(),
        "step_seconds": span.step,
        "candidate": {
            "target_value": chosen.target_value,
            "compare_op": chosen.compare_op,
            "threshold_pct": chosen.threshold_pct,
            "min_samples": getattr(chosen, "min_samples", None),
            "period": chosen.period,
        },
        "evaluations": len(out),
        "breaches": breaches,
        "escalations_opened": opened,
        "notifications": notifications,
        "leadership_reviews": _reviews(streaks, (reads or _reads(chosen))[1]) if streaks else 0,
        "points": out,
    }
