"""Metric retention (purge task) and the idempotent demo loader."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from ops.metrics.store import partitions
from ops.models import Sample, Series, Service
from ops.tasks import purge_expired_samples
from tests.factories import make_service, readings

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_samples_older_than_the_retention(settings):
    settings.HMS_METRIC_RETENTION_DAYS = 7
    make_service()
    readings("DCA_Luggage_Scanner", [1.0, 2.0])
    series = Series.objects.get()
    old = timezone.now() - timedelta(days=8)
    Sample.objects.create(series=series, ts=old, value=99)
    done = purge_expired_samples()
    if connection.vendor == "postgresql":  # the whole day's partition goes, no row DELETE
        assert partitions.name_of(old.date()) in done["dropped"]
        assert done["deleted_rows"] == 0
    else:
        assert done["deleted_rows"] == 1
    assert sorted(Sample.objects.values_list("value", flat=True)) == [1.0, 2.0]


def test_demo_registers_the_seed_service_with_readings_and_is_idempotent(capsys):
    call_command("hms_demo")
    first = capsys.readouterr().out
    assert "service DCA_Luggage_Scanner (version 1) from scanner.ops.yaml" in first
    assert "30 readings of DCA_Luggage_Scanner/queue_time_seconds" in first
    assert set(Service.objects.values_list("id", flat=True)) == {
        "DCA_Luggage_Scanner",
        "Benefits_Portal_API",
    }
    count = Sample.objects.count()
    call_command("hms_demo")
    second = capsys.readouterr().out
    assert "DCA_Luggage_Scanner" not in second
    assert Sample.objects.count() == count
    assert Service.objects.get(pk="DCA_Luggage_Scanner").version == 1


def test_the_demo_services_keep_reporting_through_a_periodic_task(capsys):
    from django_celery_beat.models import PeriodicTask

    from ops import demo_history, slo
    from ops.models import SLO

    call_command("hms_demo")
    task = PeriodicTask.objects.get(name=demo_history.FEED_TASK)
    assert task.task == "ops.tasks.demo_readings" and task.interval.every == 10 and task.enabled

    later = timezone.now() + timedelta(minutes=10)  # long after the demo's first readings
    stored = demo_history.feed(later)
    assert stored == 2 * 30  # each service: a reading every 10 s over the 5-minute window
    assert demo_history.feed(later) == 0  # the same moment again: nothing new
    slo.evaluate_all(later)
    assert dict(SLO.objects.values_list("service_id", "state")) == {
        "DCA_Luggage_Scanner": "breached",
        "Benefits_Portal_API": "healthy",
    }
    call_command("hms_demo")
    assert PeriodicTask.objects.filter(name=demo_history.FEED_TASK).count() == 1
