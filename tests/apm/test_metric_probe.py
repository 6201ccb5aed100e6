"""The ``metric`` probe: an aggregate of a service's OPS samples, as the SLO evaluator sees them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apm import services
from apm.models import Deviation
from tests import factories as f
from tests.factories import make_service, readings

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
P95_QUERY = 'p95(queue_time_seconds{service="DCA_Luggage_Scanner"}[5m])'


@pytest.fixture
def scanner():
    make_service()
    # 1..100 seconds, one per second, ending at AT: p95 (linear interpolation) = 95.05
    readings("DCA_Luggage_Scanner", [float(v) for v in range(1, 101)], end=AT)


def metric_baseline(query=P95_QUERY, **fields):
    return f.baseline(probe_kind="metric", probe_query=query, target_value=30, **fields)


def test_p95_of_the_window_is_the_actual_value_and_breaches(scanner):
    deviation = services.run_baseline(metric_baseline(), at=AT)
    assert deviation.status == Deviation.Status.BREACH
    assert deviation.actual == pytest.approx(95.05)
    assert deviation.deviation_pct == pytest.approx((95.05 - 30) / 30 * 100)
    assert deviation.evidence["raw_result"]["window_seconds"] == 300


@pytest.mark.parametrize(("func", "expected"), [("avg", 50.5), ("max", 100), ("count", 100)])
def test_other_aggregates(scanner, func, expected):
    query = f'{func}(queue_time_seconds{{service="DCA_Luggage_Scanner"}}[5m])'
    baseline = metric_baseline(query, compare_op="le")
    assert services.run_baseline(baseline, at=AT).actual == pytest.approx(expected)


def test_an_empty_window_is_no_data_and_a_full_deviation(scanner):
    later = AT + timedelta(hours=1)
    deviation = services.run_baseline(metric_baseline(), at=later)
    assert deviation.status == Deviation.Status.NO_DATA
    assert deviation.actual is None
    assert deviation.deviation_pct == 100
    assert "no samples of queue_time_seconds" in deviation.evidence["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("avg(queue_time_seconds[5m])", 'write FUNC(METRIC{service="ID"}[WINDOW])'),
        ('median(queue_time_seconds{service="DCA_Luggage_Scanner"}[5m])', "unknown function"),
        ('avg(queue_time_seconds{service="Nope"}[5m])', "no service 'Nope' is registered"),
        ('avg(wait{service="DCA_Luggage_Scanner"}[5m])', "has no sensor 'wait'"),
        ('avg(queue_time_seconds{service="DCA_Luggage_Scanner"}[0s])', "between 1s and 400d"),
    ],
)
def test_bad_metric_queries_are_refused_at_save(scanner, query, message):
    with pytest.raises(ValidationError) as refused:
        metric_baseline(query)
    assert message in " ".join(refused.value.message_dict["probe_query"])
