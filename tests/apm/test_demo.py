"""``manage.py hms_demo`` loads APM demo data that runs without Prometheus."""

import pytest
from django.core.management import call_command

from apm import services
from apm.models import Baseline, Deviation, Program

pytestmark = pytest.mark.django_db


def test_demo_loads_once_and_its_baselines_run_without_prometheus(settings, capsys):
    settings.PROMETHEUS_URL = None
    call_command("hms_demo")
    call_command("hms_demo")  # idempotent
    assert Program.objects.filter(code__in=["fast-track-housing", "hms-monitor"]).count() == 2
    assert Baseline.objects.count() == 2
    assert all(b.probe_verified and b.periodic_task_id for b in Baseline.objects.all())
    assert "unchanged" in capsys.readouterr().out

    first = services.run_all()
    statuses = {d.baseline.name: d.status for d in first}
    # no evaluations yet: the failure rate has no data; all probes are verified: 100 % ≥ 90 %
    assert statuses == {"watchdog_failure_rate_pct": "no_data", "verified_probes_pct": "ok"}
    second = {d.baseline.name: d for d in services.run_all()}
    # 1 of the last 2 evaluations had no data: 50 % against "≤ 5 %"
    assert second["watchdog_failure_rate_pct"].actual == 50.0
    assert second["watchdog_failure_rate_pct"].status == Deviation.Status.BREACH
