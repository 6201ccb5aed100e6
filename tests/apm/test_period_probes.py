"""Each probe kind takes the period to date: SQL through bound %(period_start)s/%(period_end)s
(PostgreSQL and SQLite engines, read-only protections kept), metric through [period]."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apm import services
from apm.models import Baseline
from apm.probes import ProbeError, Window, probe_for
from apm.probes.metric import MetricQuery
from apm.probes.sql import bound
from tests import factories as f

pytestmark = pytest.mark.django_db
START, END = datetime(2026, 10, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 4, tzinfo=UTC)


def test_the_sql_period_parameters_are_bound_never_formatted():
    text, params = bound("SELECT 1 WHERE %(period_start)s < %(period_end)s", Window(START, END))
    assert text == "SELECT 1 WHERE %(period_start)s < %(period_end)s"
    assert params == {"period_start": START, "period_end": END}
    assert bound("SELECT 1", Window(START, END)) == ("SELECT 1", {})
    assert bound("SELECT %(period_start)s", None)[1] == {"period_start": None}


def test_a_sql_probe_measures_the_window_it_is_given():
    probe = probe_for("sql")
    query = (
        "SELECT CAST((julianday(%(period_end)s) - julianday(%(period_start)s)) AS REAL)"
        if _sqlite()
        else "SELECT extract(epoch FROM %(period_end)s - %(period_start)s) / 86400"
    )
    reading = probe.measure(query, END, Window(START, END))
    assert reading.value == pytest.approx(31.0)
    with pytest.raises(ProbeError, match="calendar period"):
        probe.measure(query, END)


def test_a_sql_period_parameter_cannot_smuggle_a_write():
    probe = probe_for("sql")
    with pytest.raises(ProbeError):
        probe.measure("DELETE FROM ledger WHERE %(period_start)s IS NULL", END, Window(START, END))


def test_a_month_sql_baseline_is_validated_and_run_over_its_month_to_date():
    query = (
        "SELECT CAST((julianday(%(period_end)s) - julianday(%(period_start)s)) AS REAL)"
        if _sqlite()
        else "SELECT extract(epoch FROM %(period_end)s - %(period_start)s) / 86400"
    )
    b = f.baseline(probe_query=query, period="month", period_tz="America/New_York", target_value=5)
    deviation = services.run_baseline(b, at=datetime(2026, 11, 3, 4, tzinfo=UTC))
    assert deviation.actual == pytest.approx(2.0)  # from 1 November 00:00 EDT (04:00 UTC)
    with pytest.raises(ValidationError) as refused:
        f.baseline(probe_query="SELECT 1", period="quarter")
    assert "probe_query" in refused.value.message_dict


def test_metric_period_window(settings):
    parsed = MetricQuery.parse('avg(queue_time_seconds{service="s"}[period])')
    assert parsed.window_seconds == 0
    probe = probe_for("metric")
    assert probe.uses_period('avg(queue_time_seconds{service="s"}[period])')
    assert not probe.uses_period('avg(queue_time_seconds{service="s"}[5m])')
    with pytest.raises(ProbeError, match="calendar period"):
        probe.measure('avg(queue_time_seconds{service="s"}[period])', END)


def test_a_metric_period_baseline_reads_the_period_to_date():
    f.make_service("periods_svc")
    now = datetime(2026, 11, 20, tzinfo=UTC)
    f.readings("periods_svc", [10.0] * 3, end=datetime(2026, 10, 31, 23, tzinfo=UTC), step=60)
    f.readings("periods_svc", [50.0] * 3, end=now - timedelta(hours=1), step=60)
    query = 'avg(queue_time_seconds{service="periods_svc"}[period])'
    b = f.baseline(
        probe_kind=Baseline.ProbeKind.METRIC, period="month", target_value=60, probe_query=query
    )
    deviation = services.run_baseline(b, at=now)
    assert deviation.actual == 50.0  # October's readings are another period


def _sqlite():
    from django.conf import settings

    return settings.HMS_SQL_PROBE_DATABASE["ENGINE"].endswith("sqlite3")
