"""A baseline's schedule is a django-celery-beat periodic task; a tick runs it once per slot."""

import json
from datetime import UTC, datetime

import pytest
from django_celery_beat.models import PeriodicTask

from apm import services
from apm.models import Deviation, Escalation
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_saving_a_baseline_creates_its_utc_crontab_periodic_task():
    baseline = f.baseline(schedule="15 3 * * 1-5")
    task = PeriodicTask.objects.get(pk=baseline.periodic_task_id)
    assert task.task == "apm.tasks.run_scheduled_baseline"
    assert json.loads(task.args) == [baseline.pk]
    assert task.enabled is True
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "15", "3", "*", "*", "1-5",
    )  # fmt: skip
    assert str(cron.timezone) == "UTC"


def test_periodic_task_follows_schedule_edits_and_deactivation():
    baseline = f.baseline()
    assert PeriodicTask.objects.get(pk=baseline.periodic_task_id).crontab.hour == "2"
    baseline.schedule = "*/10 * * * *"
    baseline.active = False
    baseline.full_clean()
    baseline.save()
    task = PeriodicTask.objects.get(pk=baseline.periodic_task_id)
    assert task.crontab.minute == "*/10"
    assert task.enabled is False
    assert PeriodicTask.objects.filter(name__startswith="apm baseline").count() == 1


def test_deleting_a_baseline_deletes_its_periodic_task():
    baseline = f.baseline()
    task_id = baseline.periodic_task_id
    baseline.delete()
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


def test_a_scheduled_run_delivered_twice_records_one_deviation_for_its_slot():
    baseline = f.baseline(schedule="0 2 * * *")
    first = services.run_scheduled(baseline.pk, now=datetime(2026, 3, 4, 2, 0, 7, tzinfo=UTC))
    second = services.run_scheduled(baseline.pk, now=datetime(2026, 3, 4, 2, 3, 0, tzinfo=UTC))
    assert first.pk == second.pk
    assert first.slot == datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    assert first.trigger == Deviation.Trigger.SCHEDULE
    next_night = services.run_scheduled(baseline.pk, now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    assert next_night.pk != first.pk
    assert baseline.deviations.count() == 2


@pytest.mark.parametrize("query", ["SELECT 24", "SELECT 37.2"], ids=["ok", "red"])
def test_the_delivery_that_loses_the_slot_race_returns_the_winners_row(query, monkeypatch):
    """Both deliveries of a tick passed the "already recorded?" read; the other one's
    INSERT landed while this one probed. The unique slot keeps one row, and the loser
    escalates nothing (the winner did, or would have)."""
    baseline = f.baseline(schedule="0 2 * * *", probe_query=query)
    slot = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    probe = type(services.probe_for(baseline.probe_kind))
    measure = probe.measure

    def measure_while_the_other_delivery_records(self, text, at, *window):
        winner["row"] = Deviation.objects.create(
            baseline=baseline, evaluated_at=at, deviation_pct=0, status="ok",
            trigger=Deviation.Trigger.SCHEDULE, slot=slot,
        )  # fmt: skip
        return measure(self, text, at, *window)

    winner = {}
    monkeypatch.setattr(probe, "measure", measure_while_the_other_delivery_records)
    recorded = services.run_scheduled(baseline.pk, now=datetime(2026, 3, 4, 2, 0, 7, tzinfo=UTC))

    assert recorded == winner["row"]
    assert baseline.deviations.count() == 1
    assert not Escalation.objects.exists()


def test_manual_runs_have_no_slot_and_always_record():
    baseline = f.baseline()
    services.run_baseline(baseline)
    services.run_baseline(baseline)
    assert list(baseline.deviations.values_list("slot", flat=True)) == [None, None]


def test_scheduled_tick_for_a_deleted_or_inactive_baseline_does_nothing():
    baseline = f.baseline(active=False)
    assert services.run_scheduled(baseline.pk) is None
    assert services.run_scheduled(baseline.pk + 1000) is None
    assert not Deviation.objects.exists()


@pytest.mark.services
def test_beat_tick_runs_the_baseline_on_a_real_worker(apm_worker):
    from hms_site.celery import app

    baseline = f.baseline(schedule="0 2 * * *", probe_query="SELECT 37.2", target_value=30)
    task = PeriodicTask.objects.get(pk=baseline.periodic_task_id)

    # What beat's DatabaseScheduler sends for this entry, twice (a duplicate delivery).
    results = [
        app.send_task(task.task, args=json.loads(task.args), kwargs=json.loads(task.kwargs))
        for _ in range(2)
    ]
    outcomes = [r.get(timeout=30) for r in results]

    deviation = Deviation.objects.get(baseline=baseline)
    assert deviation.status == Deviation.Status.BREACH
    assert deviation.deviation_pct == pytest.approx(24.0)
    assert deviation.trigger == Deviation.Trigger.SCHEDULE
    assert deviation.slot == services.scheduled_slot(baseline)  # last night's 02:00
    assert [o["deviation"] for o in outcomes] == [deviation.pk, deviation.pk]

    baseline.schedule = "0 4 * * *"
    baseline.save()
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("0", "4")
