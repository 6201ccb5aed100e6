"""apm.steady_runs sends each value in its text form (apm.prepared_statement.text_of): the
row a steady run stores is the row the ORM's INSERT stores for the same run."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from apm import steady_runs
from apm.models import Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)  # outside a transaction: prepared

AT = datetime(2026, 1, 1, 2, 3, 4, 567891, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the steady statement is PostgreSQL's")


def _run(baseline, n: int, **fields) -> Deviation:
    values = {
        "baseline": baseline,
        "evaluated_at": AT + timedelta(minutes=n),
        "actual": 0.1 + 0.2,
        "deviation_pct": -1e-300,
        "status": Deviation.Status.OK,
        "evidence": {"query": "rate(x[5m])", "raw": [1.5, None, "é ✓"], "n": {"deep": 2**53}},
        "trigger": Deviation.Trigger.SCHEDULE,
        "slot": AT + timedelta(minutes=n),
        "sample_count": 7,
        "newest_sample_at": datetime(2025, 12, 31, 23, 0, 0, 1, tzinfo=ZoneInfo("Europe/Berlin")),
        "completeness": 1 / 3,
        "source": "promql: 7 sample(s) read by rate(x[5m]) — ünïcode",
    }
    values.update(fields)
    return Deviation(**values)


def _stored(pk: int) -> dict:
    row = Deviation.objects.filter(pk=pk).values().get()
    for volatile in ("id", "recorded_at", "evaluated_at", "slot"):
        row.pop(volatile)
    return row


VARIANTS = [
    {},
    {"actual": None, "sample_count": None, "newest_sample_at": None, "completeness": None},
    {"slot": None, "trigger": Deviation.Trigger.API, "source": ""},
    {"actual": 1e300, "deviation_pct": math.inf, "completeness": 0.0, "evidence": {}},
    {"actual": -0.0, "deviation_pct": 12345678.901234567, "sample_count": 0},
]


@pytest.mark.parametrize("fields", VARIANTS)
def test_a_steady_run_stores_the_row_the_orms_insert_stores(fields):
    baseline = f.baseline(target_value=40)
    steady = _run(baseline, 1, **fields)
    orm = _run(baseline, 2, **fields)

    assert steady_runs.record_if_steady(steady, None)
    assert orm.record()

    assert steady.pk and steady.pk != orm.pk
    assert _stored(steady.pk) == _stored(orm.pk)
    stored = Deviation.objects.get(pk=steady.pk)
    assert stored.recorded_at == steady.recorded_at  # stamped on the instance, as pre_save
    assert (stored.evaluated_at, stored.slot) == (steady.evaluated_at, steady.slot)


def test_inside_a_transaction_and_after_a_deallocate_the_row_is_the_same():
    """Inside a transaction the statement is sent unnamed; a DEALLOCATE from elsewhere
    (outside one) makes it prepared again at once."""
    baseline = f.baseline(target_value=40)
    with transaction.atomic():
        inside = _run(baseline, 1, slot=None)
        assert steady_runs.record_if_steady(inside, None)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    again = _run(baseline, 2)
    assert steady_runs.record_if_steady(again, None)
    orm = _run(baseline, 3)
    assert orm.record()
    assert _stored(inside.pk) == _stored(again.pk) == _stored(orm.pk)
