"""apm.backtest's escalation counts against the rules applied one run at a time: a
history with no-data days (a warning), breaches (critical: a raise), two routes of
which one takes no follow-ups, and a leadership-review policy. The oracle measures
each time with the live watchdog's instant query and applies ``services.verdict``,
``escalation_rules.decide``, ``EscalationRoute.accepts``, ``notices.takes_follow_ups``
and ``policies.review_due`` at each daily policy check, as written."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q

from apm import backtest, notices, policies, services
from apm import escalation_rules as rules
from apm.models import EscalationPolicy, EscalationRoute
from tests import factories as f
from tests.apm import test_period_results as history_tests

pytestmark = [pytest.mark.django_db, pytest.mark.services]
calendar_prometheus, prom = history_tests.calendar_prometheus, history_tests.prom  # fixtures
promql_baseline, NOW = history_tests.promql_baseline, history_tests.NOW

SINCE = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 60


def _oracle(b):
    chosen = backtest.candidate(b, {})
    routes = list(
        EscalationRoute.objects.filter(active=True, channel__enabled=True)
        .filter(Q(program=None) | Q(program=b.program))
        .select_related("channel")
        .order_by("pk")
    )
    action = EscalationPolicy.Action.RECOMMEND_LEADERSHIP_REVIEW
    days_list = [
        p.after_days_no_fix
        for p in EscalationPolicy.objects.filter(baseline=b, active=True, action=action)
    ]
    level, told, red_since, streaks, points = None, set(), None, [], []
    opened = notes = 0
    end = SINCE + timedelta(days=DAYS - 1)
    for k in range(DAYS):
        at = SINCE + timedelta(days=k)
        reading, error = services.measure(chosen, at)
        status, pct = services.verdict(chosen, reading, error)
        d = rules.decide(open_level=level, status=status, deviation_pct=pct,
                         threshold_pct=chosen.threshold_pct)  # fmt: skip
        if d.action == rules.OPEN:
            opened, red_since, told = opened + 1, at, set()
        if d.announces:
            taking = [r.channel for r in routes if r.accepts(d.level)]
            notes += len(taking)
            told |= set(taking)
        elif d.action == rules.RESOLVE:
            notes += sum(notices.takes_follow_ups(c) for c in told)
            streaks.append((red_since, at))
        level = d.level
        points.append({"at": at.isoformat(), "actual": reading.value, "deviation_pct": pct,
                       "status": status, "escalation": d.action,
                       "reason": error or reading.reason})  # fmt: skip
    if level is not None:
        streaks.append((red_since, end + timedelta(microseconds=1)))
    reviews = 0
    for started, ended in streaks:
        checks = [
            started.replace(hour=2, minute=30) + timedelta(days=n) for n in range(-1, DAYS + 2)
        ]
        checks = [c for c in checks if started <= c < ended]
        reviews += sum(
            any(policies.review_due(started, c, days) for c in checks) for days in days_list
        )
    red = sum(p["status"] in rules.RED_STATUSES for p in points)
    return {"points": points, "escalations_opened": opened, "notifications": notes,
            "leadership_reviews": reviews, "breaches": red}  # fmt: skip


def test_raises_follow_ups_and_reviews_are_the_rules_one_run_at_a_time(prom):
    # 30..39 by day; 35 filtered out (no data: 100 %, a warning at a 150 % threshold);
    # against 14, 36..39 breach (157..179 %: critical, a raise after the no-data day).
    b = promql_baseline("daily_wait_days != 35", target_value=14, threshold_pct=150)
    f.route(f.make_channel("warn", "slack", "#warn"), program=b.program, min_level="warning")
    f.route(f.make_channel("tickets", "ticket", ""), program=b.program, min_level="critical")
    f.route(f.make_channel("other", "slack", "#other"), min_level="info", active=False)
    EscalationPolicy.objects.create(baseline=b, after_days_no_fix=2)
    until = SINCE + timedelta(days=DAYS - 1)
    answer = backtest.run(b, {"since": SINCE.isoformat(), "until": until.isoformat(), "step": "1d"},
                          now=NOW)  # fmt: skip
    expected = _oracle(b)
    assert answer["points"] == expected["points"]
    assert {e for p in answer["points"] if (e := p["escalation"]) != "nothing"} == {
        "open", "raise", "count", "resolve"}  # fmt: skip
    for key in ("breaches", "escalations_opened", "notifications", "leadership_reviews"):
        assert answer[key] == expected[key], key
    assert answer["leadership_reviews"] > 0
