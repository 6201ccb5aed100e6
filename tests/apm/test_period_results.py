"""Closed calendar periods' results on Prometheus history with fixed timestamps
(tests/support/history.py ``calendar_history``), and the backtest against the live watchdog."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.db import transaction

from apm import backtest, period_results, periods, services
from apm.models import Baseline, Deviation, PeriodResult
from apm.probes import promql
from tests import factories as f
from tests.support.history import (
    CAL_START,
    FY2026_START,
    FY2027_START,
    QUARTER_LEVELS,
    calendar_history,
    daily_wait,
)
from tests.support.prometheus import PrometheusServer, binaries_available
from tests.support.services import require

pytestmark = [pytest.mark.django_db, pytest.mark.services]
NOW = datetime(2026, 10, 2, 12, tzinfo=UTC)  # inside the history


@pytest.fixture(scope="module")
def calendar_prometheus(tmp_path_factory):
    missing = binaries_available()
    if missing:
        require("Prometheus", f"not installed: {missing} (apt-get install prometheus)")
    server = PrometheusServer(
        tmp_path_factory.mktemp("calendar"), calendar_history(), block_hours=24 * 120
    ).start()
    yield server
    server.stop()


@pytest.fixture
def prom(calendar_prometheus, settings):
    settings.PROMETHEUS_URL = calendar_prometheus.url
    settings.HMS_FISCAL_YEAR_START_MONTH = 10
    return calendar_prometheus


def promql_baseline(query, **fields):
    fields.setdefault("target_value", 35)
    fields.setdefault("threshold_pct", 10)
    return f.baseline(probe_kind=Baseline.ProbeKind.PROMQL, probe_query=query, **fields)


def test_a_quarter_baseline_keeps_each_closed_quarters_result(prom):
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    results = period_results.close_due(b, NOW, count=4)
    got = {r.label: (r.status, r.value) for r in results}
    expected = {
        label: ("kept" if level <= 38.5 else "missed", level)
        for label, level in QUARTER_LEVELS.items()
        if label in ("2025Q4", "2026Q1", "2026Q2", "2026Q3")
    }
    assert got == expected
    q2 = PeriodResult.objects.get(baseline=b, label="2026Q2")
    assert (q2.starts_at, q2.ends_at) == (
        datetime(2026, 4, 1, tzinfo=UTC),
        datetime(2026, 7, 1, tzinfo=UTC),
    )
    assert q2.deviation_pct == pytest.approx(28.571428, rel=1e-6)
    # Idempotent: closing again computes nothing and keeps one row per quarter.
    assert period_results.close_due(b, NOW, count=4) == []
    assert PeriodResult.objects.filter(baseline=b).count() == 4
    q2_period = periods.Period.containing("quarter", NOW - timedelta(days=100))
    assert period_results.compute(b, q2_period, NOW).pk == q2.pk
    shown = period_results.last_periods(b, NOW)
    assert len(shown) == 8 and shown[-1][0].label == "2026Q3" and shown[-1][1].status == "kept"
    assert shown[0][1] is None  # 2024Q4: before the history, not computed yet


def test_an_open_period_has_no_result_yet(prom):
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    with pytest.raises(period_results.PeriodNotClosed):
        period_results.compute(b, periods.Period.containing("quarter", NOW), NOW)


def test_a_fiscal_year_from_october_ends_at_midnight_in_new_york(prom):
    b = promql_baseline(
        "avg_over_time(fy_backlog_days[$__range])",
        period="fiscal_year",
        period_tz="America/New_York",
        target_value=25,
    )
    [fy2026] = period_results.close_due(b, NOW, count=1)
    assert fy2026.label == "FY2026"
    assert fy2026.starts_at == datetime.fromtimestamp(FY2026_START, tz=UTC)
    assert fy2026.ends_at == datetime.fromtimestamp(FY2027_START, tz=UTC)
    # Exactly FY2026's hourly samples: no hour of FY2025 (100) or FY2027 (50) in it.
    assert fy2026.value == 20.0 and fy2026.status == "kept"
    # The same series judged in UTC years takes 4 hours of each neighbour in.
    utc_b = promql_baseline("avg_over_time(fy_backlog_days[$__range])", period="fiscal_year",
                            target_value=25)  # fmt: skip
    [utc_fy] = period_results.close_due(utc_b, NOW, count=1)
    assert utc_fy.value != 20.0


def test_a_period_baseline_runs_over_the_period_to_date(prom):
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    at = datetime(2026, 5, 1, tzinfo=UTC)  # 2026Q2 to date: 45 only, not 2026Q1's 30
    deviation = services.run_baseline(b, at=at, trigger=Deviation.Trigger.BACKFILL)
    assert deviation.actual == 45.0 and deviation.status == "breach"


def _row_counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_a_90_day_backtest_matches_90_live_runs_with_one_query_range_and_writes_nothing(
    prom, monkeypatch
):
    b = promql_baseline("daily_wait_days", target_value=33, threshold_pct=10)
    channel = f.make_channel()
    f.route(channel, program=b.program, min_level="critical")
    since = datetime(2026, 6, 1, tzinfo=UTC)
    until = since + timedelta(days=89)
    requests = []
    real = promql._pool.request
    monkeypatch.setattr(
        promql._pool, "request", lambda *a, **k: requests.append(a[1]) or real(*a, **k)
    )
    before = _row_counts()
    answer = backtest.run(
        b, {"since": since.isoformat(), "until": until.isoformat(), "step": "1d"}, now=NOW
    )
    assert _row_counts() == before
    assert [url.rsplit("/", 1)[-1] for url in requests] == ["query_range"]
    assert answer["evaluations"] == 90
    expected = [
        (since + timedelta(days=k)).isoformat()
        for k in range(90)
        if daily_wait(int((since + timedelta(days=k)).timestamp())) > 33 * 1.1
    ]
    breached = [p["at"] for p in answer["points"] if p["status"] == "breach"]
    assert breached == expected and answer["breaches"] == len(expected) == 27
    # The live watchdog at each of the 90 times, in a transaction rolled back.
    with transaction.atomic():
        live = [
            services.run_baseline(b, at=since + timedelta(days=k), trigger=Deviation.Trigger.API)
            for k in range(90)
        ]
        live_breaches = [d.evaluated_at.isoformat() for d in live if d.status == "breach"]
        opened = b.escalations.count()
        transaction.set_rollback(True)
    assert live_breaches == breached
    assert answer["escalations_opened"] == opened == 9  # days 7-9 of each 10 are one streak
    assert answer["notifications"] == 9 + 9  # one route: opened, then resolved
    assert _row_counts() == before


def test_the_backtest_of_a_candidate_changes_only_the_verdicts(prom):
    b = promql_baseline("daily_wait_days", target_value=33, threshold_pct=10)
    since = datetime(2026, 6, 1, tzinfo=UTC)
    data = {"since": since.isoformat(), "until": (since + timedelta(days=9)).isoformat(),
            "step": "1d", "target_value": 40, "threshold_pct": 0}  # fmt: skip
    answer = backtest.run(b, data, now=NOW)
    assert answer["breaches"] == 0 and answer["candidate"]["target_value"] == 40
    b.refresh_from_db()
    assert b.target_value == 33


def test_a_period_backtest_covers_each_times_period_to_date(prom):
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    data = {"since": "2026-03-01T00:00:00Z", "until": "2026-05-01T00:00:00Z", "step": "30d"}
    points = backtest.run(b, data, now=NOW)["points"]
    assert [(p["at"][:10], p["actual"]) for p in points] == [
        ("2026-03-01", 30.0),
        ("2026-03-31", 30.0),
        ("2026-04-30", 45.0),
    ]


def test_the_history_starts_where_the_fixture_says():
    assert datetime.fromtimestamp(CAL_START, tz=UTC) == datetime(2025, 7, 1, tzinfo=UTC)


def test_the_command_keeps_past_periods_on_demand_and_refuses_bad_input(prom):
    from io import StringIO

    from django.core.management import CommandError, call_command

    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    out = StringIO()
    call_command("apm_close_periods", baseline=b.pk, periods=2, stdout=out)
    # Today's (real) last two closed quarters: 2026Q4 is open, 2026Q2 and 2026Q3 are kept.
    assert set(b.period_results.values_list("label", flat=True)) == {"2026Q2", "2026Q3"}
    assert "2 kept" in out.getvalue()
    with pytest.raises(CommandError, match="--periods"):
        call_command("apm_close_periods", periods=0)
    with pytest.raises(CommandError, match="--baseline"):
        call_command("apm_close_periods", baseline=999999)


def test_a_failing_probe_keeps_nothing_so_the_next_call_tries_again(prom, settings):
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # nothing listens: refused at once
    assert period_results.close_due(b, NOW, count=2) == []
    assert not PeriodResult.objects.filter(baseline=b).exists()
    settings.PROMETHEUS_URL = prom.url
    assert len(period_results.close_due(b, NOW, count=2)) == 2


def test_the_beat_task_is_thin_and_scheduled(prom, settings):
    from apm.tasks import close_periods

    assert settings.CELERY_BEAT_SCHEDULE["apm-close-periods"]["task"] == close_periods.name
    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    result = close_periods.apply().get()
    assert b.pk in {int(k) for k in result}


def test_a_quarter_covered_by_maintenance_is_maintenance_and_a_partly_covered_one_is_judged(prom):
    from apm.models import MaintenanceWindow

    b = promql_baseline("avg_over_time(quarter_backlog_days[$__range])", period="quarter")
    # 2026Q2 wholly inside two windows that meet; 2026Q3 only half covered.
    for start, end in [
        (datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 5, 15, tzinfo=UTC)),
        (datetime(2026, 5, 15, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
        (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 15, tzinfo=UTC)),
    ]:
        MaintenanceWindow.objects.create(
            baseline=b, starts_at=start, ends_at=end, reason="data migration"
        )
    got = {r.label: r.status for r in period_results.close_due(b, NOW, count=3)}
    q3 = "kept" if QUARTER_LEVELS["2026Q3"] <= 38.5 else "missed"
    assert got == {
        "2026Q1": "kept" if QUARTER_LEVELS["2026Q1"] <= 38.5 else "missed",
        "2026Q2": "maintenance",
        "2026Q3": q3,
    }


def test_a_period_value_from_too_few_samples_is_insufficient_data_never_kept_or_missed():
    b = f.baseline(target_value=35, threshold_pct=10, min_samples=5, clean=False)
    assert period_results.judge(b, 30.0, count=4)[0] == PeriodResult.Status.INSUFFICIENT_DATA
    assert period_results.judge(b, 99.0, count=4)[0] == PeriodResult.Status.INSUFFICIENT_DATA
    assert period_results.judge(b, 30.0, count=5)[0] == PeriodResult.Status.KEPT
    assert period_results.judge(b, 99.0, count=5)[0] == PeriodResult.Status.MISSED
    assert period_results.judge(b, 30.0, count=0)[0] == PeriodResult.Status.MISSED  # no data
    assert period_results.judge(b, 30.0)[0] == PeriodResult.Status.KEPT  # not counted


def test_a_period_baselines_count_covers_the_same_period_to_date(prom):
    """The companion of ``avg_over_time(x[$__range])`` counts over the same ``$__range``:
    six hours into a quarter are too few hourly samples for 24, two days are enough."""
    b = promql_baseline(
        "avg_over_time(quarter_backlog_days[$__range])",
        period="quarter",
        target_value=30,
        threshold_pct=5,  # 2026Q3's 33 is a 10 % breach
        min_samples=24,
    )
    early = services.run_baseline(
        b, at=datetime(2026, 7, 1, 6, tzinfo=UTC), trigger=Deviation.Trigger.BACKFILL
    )
    assert early.status == "insufficient_data" and early.sample_count in (6, 7)
    later = services.run_baseline(
        b, at=datetime(2026, 7, 3, tzinfo=UTC), trigger=Deviation.Trigger.BACKFILL
    )
    assert later.status == "breach" and later.sample_count in (48, 49)


def test_a_closed_periods_result_uses_the_count_over_the_whole_period(prom):
    query = "avg_over_time(quarter_backlog_days[$__range])"
    judged = promql_baseline(query, period="quarter", min_samples=2000)
    [q3] = period_results.close_due(judged, NOW, count=1)
    assert (q3.label, q3.status) == ("2026Q3", "kept")  # 33 against "≤ 35, 10 %"
    # A quarter holds at most 92 x 24 hourly samples: 3,000 are never there.
    short = promql_baseline(query, period="quarter", min_samples=3000)
    [grey] = period_results.close_due(short, NOW, count=1)
    assert grey.status == "insufficient_data" and grey.reason.endswith("needs 3000")
    own = promql_baseline(
        query,
        period="quarter",
        min_samples=3000,
        count_query="sum(count_over_time(quarter_backlog_days[$__range])) * 2",
    )
    [doubled] = period_results.close_due(own, NOW, count=1)
    assert doubled.status == "kept"  # the baseline's own count query decides


def test_a_backtest_carries_the_counts_in_its_one_query_range(prom, monkeypatch):
    since = datetime(2026, 6, 1, tzinfo=UTC)
    data = {"since": since.isoformat(), "until": (since + timedelta(days=9)).isoformat(),
            "step": "1d"}  # fmt: skip
    counted = promql_baseline(
        "daily_wait_days",
        target_value=33,
        threshold_pct=10,
        count_query="count_over_time(daily_wait_days[1d])",  # 24 hourly samples a day
        min_samples=30,
    )
    requests = []
    real = promql._pool.request
    monkeypatch.setattr(
        promql._pool, "request", lambda *a, **k: requests.append(a[1]) or real(*a, **k)
    )
    before = _row_counts()
    grey = backtest.run(counted, data, now=NOW)
    assert [url.rsplit("/", 1)[-1] for url in requests] == ["query_range"]
    assert {p["status"] for p in grey["points"]} == {"insufficient_data"}
    assert (grey["breaches"], grey["escalations_opened"]) == (0, 0)
    judged = backtest.run(counted, {**data, "min_samples": 20}, now=NOW)
    assert judged["breaches"] == 3  # days 7-9 of the ten: 37, 38, 39 > 36.3
    assert _row_counts() == before
    # The live watchdog at the same times agrees, point by point.
    with transaction.atomic():
        live = [
            services.run_baseline(counted, at=since + timedelta(days=k)).status for k in range(10)
        ]
        transaction.set_rollback(True)
    assert live == [p["status"] for p in grey["points"]]


def test_a_backtest_candidate_min_samples_needs_a_count_query(prom):
    b = promql_baseline("daily_wait_days", target_value=33)
    data = {"since": "2026-06-01T00:00:00Z", "until": "2026-06-05T00:00:00Z", "min_samples": 5}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        backtest.run(b, data, now=NOW)
    assert "count_query" in refused.value.message_dict
