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
    # the demo's ledger (apm/demo_ledger.py): 7 of the last 100 evaluations failed,
    # 7 % against "≤ 5 %"; 19 of 20 probes are verified, 95 % against "≥ 90 %"
    assert statuses == {"watchdog_failure_rate_pct": "breach", "verified_probes_pct": "ok"}
    second = {d.baseline.name: d for d in services.run_all()}
    # probes read the ledger and never change it: the same figures again
    assert second["watchdog_failure_rate_pct"].actual == 7.0
    assert second["watchdog_failure_rate_pct"].status == Deviation.Status.BREACH
    assert second["verified_probes_pct"].actual == 95.0


def test_the_demo_ledger_is_its_own_file_and_probes_open_it_read_only(tmp_path, settings):
    from apm import demo_ledger
    from apm.probes import ProbeError
    from apm.probes.sql import engine

    path = demo_ledger.build(tmp_path / "demo-ledger.sqlite3")
    before = path.read_bytes()
    settings.HMS_SQL_PROBE_DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    assert engine().fetch("SELECT count(*) FROM watchdog_evaluations").first_row == (100,)
    for attack in (
        "DELETE FROM probes",
        "UPDATE probes SET verified = 1",
        "ATTACH DATABASE 'file:x?mode=memory' AS x",
        "PRAGMA query_only = OFF",
    ):
        with pytest.raises(ProbeError, match="SQLite refused it"):
            engine().fetch(attack)
    assert path.read_bytes() == before
