"""``manage.py watchdog_run [--baseline ID]``: the seed's ``Watchdog.run_once()`` on the server."""

import pytest
from django.core.management import CommandError, call_command

from apm.models import Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_watchdog_run_evaluates_every_active_baseline(capsys):
    program = f.program(code="fast-track-housing")
    f.baseline(program, name="avg_wait_days", probe_query="SELECT 37.2", target_value=30)
    f.baseline(program, name="approval_rate", probe_query="SELECT 0.95", target_value=0.9,
               compare_op="ge")  # fmt: skip
    f.baseline(program, name="paused", active=False)
    call_command("watchdog_run")
    out = capsys.readouterr().out
    assert "fast-track-housing/avg_wait_days: breach actual=37.2 deviation=24.0%" in out
    assert "fast-track-housing/approval_rate: ok" in out
    assert "paused" not in out
    assert "2 baseline(s) evaluated" in out
    assert set(Deviation.objects.values_list("trigger", flat=True)) == {"command"}


def test_watchdog_run_one_baseline_with_its_reason_when_there_is_no_data(capsys):
    baseline = f.baseline(name="empty", probe_query="SELECT NULL")
    call_command("watchdog_run", "--baseline", str(baseline.pk))
    out = capsys.readouterr().out
    assert "empty: no_data actual=— deviation=100.0% (the query returned NULL)" in out


def test_watchdog_run_names_a_missing_baseline():
    with pytest.raises(CommandError, match="no baseline with id 999"):
        call_command("watchdog_run", "--baseline", "999")


def test_watchdog_run_refuses_a_time_without_zone():
    with pytest.raises(CommandError, match="with a zone"):
        call_command("watchdog_run", "--at", "2026-01-01T00:00:00")
