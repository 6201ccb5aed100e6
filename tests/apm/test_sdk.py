"""The seed's SDK calls (sections 3.1, 3.2, 8) against a running server (live_server)."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from apm.models import Deviation
from hms_apm import Baseline, CronError, HmsApiError, Watchdog
from hms_apm.watchdog import RUN_ATTEMPTS
from hms_sdk import Client
from tests import factories as f
from tests.support.history import EVAL_TIME
from tests.support.http_server import LoopbackServer, Reply, Script

AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)


@pytest.mark.services
def test_seed_baseline_is_created_and_compared_through_the_sdk(sdk, prometheus, settings):
    settings.PROMETHEUS_URL = prometheus.url
    program = f.program()
    wait_time = Baseline.create(
        program_id=program.pk,
        name="avg_wait_days",
        target_value=30,
        compare_op="le",
        probe_query=f.VALID_HOUSING_QUERY,
    )
    assert wait_time.id > 0
    assert wait_time.probe_verified is True
    assert wait_time.threshold_pct == 20

    score = Watchdog.compare(baseline_id=wait_time.id, at=AT)
    assert score == pytest.approx(24.0)
    assert score > 20
    assert Deviation.objects.get().status == Deviation.Status.BREACH


@pytest.mark.services
def test_seeds_invalid_promql_raises_with_prometheus_message(sdk, prometheus, settings):
    settings.PROMETHEUS_URL = prometheus.url
    with pytest.raises(HmsApiError) as refused:
        Baseline.create(
            program_id=f.program().pk,
            name="avg_wait_days",
            target_value=30,
            compare_op="le",
            probe_query=f.SEED_INVALID_HOUSING_QUERY,
        )
    assert refused.value.status == 400
    assert "parse error" in refused.value.body["probe_query"][0]


def test_run_once_runs_every_active_baseline_you_may_see(sdk, staff_dave):
    mine = f.program()
    f.baseline(mine, name="red", probe_query="SELECT 37.2")
    f.baseline(mine, name="green", probe_query="SELECT 3")
    f.baseline(mine, name="paused", active=False)
    f.baseline(f.program(owner_group=staff_dave.groups.get()), name="not_mine")

    deviations = Watchdog.run_once()

    assert sorted(d["status"] for d in deviations) == ["breach", "ok"]
    assert Deviation.objects.count() == 2
    assert {b.name for b in Baseline.list(active="true")} == {"red", "green"}


def test_run_once_past_the_run_rate_waits_out_each_429_and_runs_every_baseline(
    sdk, settings, monkeypatch
):
    """Five baselines, a rate of 2 a second: the server answers 429 with Retry-After, the
    SDK waits that long (the one back-off) and every baseline is run exactly once."""
    settings.HMS_RUN_RATE = "2/s"
    program = f.program()
    for i in range(5):
        f.baseline(program, name=f"b{i}", probe_query="SELECT 3")
    waits = []
    monkeypatch.setattr(Watchdog, "sleep", staticmethod(lambda s: (waits.append(s), time.sleep(s))))

    deviations = Watchdog.run_once()

    assert len(deviations) == 5 and Deviation.objects.count() == 5
    assert sorted(Deviation.objects.values_list("baseline__name", flat=True)) == [
        f"b{i}" for i in range(5)
    ]
    assert waits and all(w >= 1.0 for w in waits)  # Retry-After rounds up to whole seconds


def test_a_run_still_rate_limited_after_its_attempts_raises_the_429(monkeypatch):
    replies = Script(Reply(429, {"detail": "Request was throttled."}, headers={"Retry-After": "7"}))
    waits = []
    monkeypatch.setattr(Watchdog, "sleep", staticmethod(waits.append))
    with LoopbackServer(replies) as server, pytest.raises(HmsApiError) as refused:
        Watchdog.run(1, client=Client(server.url, "t"))
    assert refused.value.status == 429
    assert len(server.requests) == RUN_ATTEMPTS
    # the one back-off (1, 2, 4, 8 s ...), never sooner than the server asked
    assert waits == [max(7.0, 2.0 ** (n - 1)) for n in range(1, RUN_ATTEMPTS)] == [7, 7, 7, 8]


def test_a_429_without_retry_after_waits_the_back_off(monkeypatch):
    replies = Script(Reply(429, {"detail": "slow"}), Reply(429, {"detail": "slow"}), Reply(201, {}))
    waits = []
    monkeypatch.setattr(Watchdog, "sleep", staticmethod(waits.append))
    with LoopbackServer(replies) as server:
        assert Watchdog.run(1, client=Client(server.url, "t")) == {}
    assert waits == [1.0, 2.0] and len(server.requests) == 3


def test_other_refusals_are_not_retried(monkeypatch):
    monkeypatch.setattr(Watchdog, "sleep", staticmethod(pytest.fail))
    with (
        LoopbackServer(Script(Reply(403, {"detail": "no"}))) as server,
        pytest.raises(HmsApiError),
    ):
        Watchdog.run(1, client=Client(server.url, "t"))
    assert len(server.requests) == 1


def test_run_once_queued_hands_every_baseline_to_the_worker_in_one_request(sdk):
    program = f.program()
    ids = [f.baseline(program, name=f"q{i}", probe_query="SELECT 3").pk for i in range(3)]
    assert sorted(Watchdog.run_once(queued=True)) == sorted(ids)
    assert not Deviation.objects.exists()  # queued to the worker: nothing ran in the request


def test_scheduled_checks_run_at_their_cron_times(scheduled):
    clock = [datetime(2026, 3, 4, 1, 58, 30, tzinfo=UTC)]
    calls = []

    @Watchdog.schedule(cron="0 2 * * *")
    def nightly():
        calls.append(("nightly", clock[0]))

    @Watchdog.schedule(cron="*/30 * * * *")
    def half_hourly():
        calls.append(("half_hourly", clock[0]))
        raise RuntimeError("a failing check does not stop the others")

    def sleep(seconds):
        clock[0] += timedelta(seconds=seconds)

    runs = Watchdog.serve(max_runs=4, now=lambda: clock[0], sleep=sleep)

    assert runs == 4
    assert calls == [
        ("nightly", datetime(2026, 3, 4, 2, 0, tzinfo=UTC)),
        ("half_hourly", datetime(2026, 3, 4, 2, 0, tzinfo=UTC)),
        ("half_hourly", datetime(2026, 3, 4, 2, 30, tzinfo=UTC)),
        ("half_hourly", datetime(2026, 3, 4, 3, 0, tzinfo=UTC)),
    ]


def test_a_bad_cron_is_refused_when_decorating(scheduled):
    with pytest.raises(CronError, match="hour: 24 is outside 0-23"):
        Watchdog.schedule(cron="0 24 * * *")
    assert Watchdog.jobs == []


def test_serve_without_scheduled_checks_says_so(scheduled):
    with pytest.raises(RuntimeError, match="nothing scheduled"):
        Watchdog.serve(max_runs=1)


def test_sdk_imports_without_django():
    code = "import sys, hms_apm; assert 'django' not in sys.modules, 'django imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_baseline_create_accepts_the_program_code(sdk, scheduled):
    program = f.program(code="fast-track-housing")
    wait_time = Baseline.create(
        program="fast-track-housing",
        name="avg_wait_days",
        target_value=30,
        compare_op="le",
        probe_kind="sql",
        probe_query="SELECT 37.2",
    )
    assert wait_time.program_id == program.pk
    assert Baseline.last_created == wait_time
    with pytest.raises(LookupError, match="no program with code 'fast-track'"):
        Baseline.create(program="fast-track", name="x", target_value=1, probe_query="SELECT 1")
    with pytest.raises(TypeError, match="exactly one of program_id= and program="):
        Baseline.create(name="x", target_value=1, probe_query="SELECT 1")


def test_the_seeds_schedule_decorator_sets_the_baselines_server_side_schedule(sdk, scheduled):
    from django_celery_beat.models import PeriodicTask

    wait_time = Baseline.create(
        program=f.program().code,
        name="avg_wait_days",
        target_value=30,
        probe_kind="sql",
        probe_query="SELECT 37.2",
    )

    @Watchdog.schedule(cron="30 3 * * 1-5")
    def check_housing_wait():
        return Watchdog.compare(baseline_id=wait_time.id)

    stored = Baseline.get(wait_time.id)
    assert stored.schedule == "30 3 * * 1-5"
    assert check_housing_wait.baseline.schedule == "30 3 * * 1-5"
    crontab = PeriodicTask.objects.get(pk=stored.data["periodic_task"]).crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "3", "1-5")
    assert [job.function for job in Watchdog.jobs] == [check_housing_wait]


def test_a_schedule_only_celery_refuses_is_a_400_naming_the_field(sdk, scheduled):
    baseline = f.baseline(f.program(owner_group=f.group("Housing staff")))
    with pytest.raises(HmsApiError) as refused:
        # croniter reads 5/10 as 5,15,...; Celery's crontab, which beat runs, refuses it
        Watchdog.schedule(cron="5/10 2 * * *", baseline_id=baseline.pk)(lambda: None)
    assert refused.value.status == 400
    assert "minute: '5/10' is refused by Celery's crontab" in refused.value.body["schedule"][0]
    baseline.refresh_from_db()
    assert baseline.schedule == "0 2 * * *"


def test_hms_act_opens_a_ticket_once_per_dedupe_key(sdk, live_server, viewer_bob):
    from rest_framework.authtoken.models import Token

    from apm.models import Ticket
    from hms_apm import HmsAct
    from hms_sdk import Client

    baseline = f.baseline(f.program(owner_group=f.group("Housing staff")))
    first = HmsAct.open_ticket(baseline.pk, "Wait-time off by 24.0%", severity="critical")
    assert (first["kind"], first["status"], first["level"]) == ("escalation", "open", "critical")
    assert first["title"] == "Wait-time off by 24.0%"
    again = [
        HmsAct.open_ticket(baseline.pk, "retried", dedupe_key="nightly-2026-03-04")
        for _ in range(2)
    ]
    assert again[0]["id"] == again[1]["id"] != first["id"]
    assert Ticket.objects.count() == 2

    bob = Client(live_server.url, Token.objects.create(user=viewer_bob).key)
    with pytest.raises(HmsApiError) as refused:
        HmsAct.open_ticket(baseline.pk, "not mine", client=bob)
    assert refused.value.status == 403
    with pytest.raises(HmsApiError) as bad:
        HmsAct.open_ticket(baseline.pk, "x", severity="apocalyptic")
    assert "level" in bad.value.body


def test_baseline_backtest_through_the_sdk_writes_nothing(sdk, housing_staff):
    from django.apps import apps

    b = f.baseline(target_value=30)  # SELECT 37.2: a 24 % breach
    before = {m._meta.label: m.objects.count() for m in apps.get_models()}
    answer = Baseline.backtest(b.id, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "1d")
    assert (answer["evaluations"], answer["breaches"], answer["escalations_opened"]) == (3, 3, 1)
    kept = Baseline.backtest(
        b.id, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC), "1d",
        threshold_pct=25,
    )  # fmt: skip
    assert kept["breaches"] == 0
    assert {m._meta.label: m.objects.count() for m in apps.get_models()} == before
    with pytest.raises(HmsApiError) as refused:
        Baseline.backtest(b.id, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", step="1w")
    assert refused.value.status == 400 and "step" in refused.value.body
    with pytest.raises(TypeError, match="schedule"):
        Baseline.backtest(b.id, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", schedule="x")
