"""The beat's pass in one statement (``ops.slo_steady``, the database store on PostgreSQL).

The statement writes the steady SLOs' values and hands every other SLO back to
``ops.slo``'s ``decide``: its steady test must never call a SLO steady that ``decide``
would move, and a whole pass must leave every SLO exactly as the general path does.
"""

import itertools
import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apm.models import MaintenanceWindow
from ops import maintenance, slo_steady
from ops.metrics.store import compaction
from ops.models import SLO, SLOStateChange, WorkerHeartbeat
from ops.slo import decide, evaluate_all
from tests.factories import make_service, readings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL statement"),
]
STATES = [s.value for s in SLO.State]


def _sql_float(value) -> str:
    return "NULL" if value is None else f"'{value!r}'::float8"


def test_the_steady_test_is_decide_keeping_the_state_and_the_flag():
    values = [None, -1.0, 30.0, math.nextafter(30.0, 99), 31.0, math.inf, math.nan]
    cases = list(
        itertools.product(STATES, values, [0, 1, 4, 5, 9], [0, 1, 5], [False, True], [False, True])
    )
    rows = ", ".join(
        f"('{state}', 30.0::float8, {min_samples}, {flag}, {inside}, {n}::bigint, "
        f"{_sql_float(None if n == 0 else v)})"
        for state, v, n, min_samples, flag, inside in cases
    )
    sql = (
        f"SELECT {slo_steady._STEADY} FROM (SELECT true AS plain, * FROM (VALUES {rows}) "
        "AS t(state, threshold, min_samples, in_maintenance, inside, n, v)) AS s, "
        "LATERAL (SELECT s.n, s.v) AS w"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        steady = [row[0] for row in cursor.fetchall()]
    for (state, v, n, min_samples, flag, inside), is_steady in zip(cases, steady, strict=True):
        value = None if n == 0 else v
        verdict = decide(value, 30.0, n, min_samples)
        kept = verdict == state and flag == inside
        judged = verdict in (SLO.State.HEALTHY, SLO.State.BREACHED)  # no data: Python's
        number = value is not None and not math.isnan(value)
        assert is_steady == (kept and judged and number), (state, v, n, min_samples, flag, inside)


def _slo_table():
    return {
        row[0]: row[1:]
        for row in SLO.objects.values_list(
            "service_id", "state", "value", "sample_count", "in_maintenance", "since"
        )
    }


def _changes():
    return sorted(
        SLOStateChange.objects.values_list(
            "slo__service_id", "from_state", "to_state", "value", "sample_count",
            "in_maintenance", "at",
        )
    )  # fmt: skip


def _scenario(now):
    """SLOs that stay, breach, recover, lose their data, lack samples, enter and leave a
    maintenance window, a 2-day window (before the read horizon) and odd percentiles."""
    make_service("Steady")
    make_service("Breaches")
    make_service("Recovers")
    make_service("Goes_Quiet")
    make_service("Never_Data")
    make_service("Too_Few", min_samples=5)
    make_service("Enters", threshold=1000)
    make_service("Leaves", threshold=1000)
    make_service("Long", window_seconds=2 * 86400)
    make_service("P999", percentile=99.9)
    make_service("Odd_Pct")
    SLO.objects.filter(service_id="Odd_Pct").update(percentile=97.1234567)
    hour = timedelta(hours=1)
    MaintenanceWindow.objects.create(
        service_id="Enters", starts_at=now + 90 * timedelta(seconds=1), ends_at=now + hour,
        reason="firmware",
    )  # fmt: skip
    MaintenanceWindow.objects.create(
        service_id="Leaves", starts_at=now - hour, ends_at=now + timedelta(seconds=90),
        reason="firmware",
    )  # fmt: skip
    for k in range(6):  # a sample every 30 s per series; passes at now + 30 s * k
        end = now + timedelta(seconds=30 * k)
        readings("Steady", [10.0 + k, 12.0, 9.5], end=end, step=7)
        readings("Breaches", [10.0] * 3 if k < 3 else [80.0] * 3, end=end, step=7)
        readings("Recovers", [80.0] * 3 if k < 3 else [5.0] * 3, end=end, step=7)
        if k < 2:
            readings("Goes_Quiet", [3.0] * 3, end=end, step=7)
        if k % 3:
            readings("Too_Few", [1.0] * (k % 3), end=end, step=7)
        readings("Enters", [20.0 + k] * 3, end=end, step=7)
        readings("Leaves", [20.0 + k] * 3, end=end, step=7)
        readings("Long", [40.0 - k] * 3, end=end, step=7)
        readings("P999", [1.0, 2.0, 31.0 + k], end=end, step=7)
        readings("Odd_Pct", [1.0, 29.0 + k, 31.0], end=end, step=7)


def _run(now, passes=12):
    """The SLOs and their change rows after each pass (11 moving ones after the first)."""
    seen = []
    for k in range(passes):
        evaluate_all(now + timedelta(seconds=15 * k + 1))
        seen.append((_slo_table(), _changes()))
    return seen


FIELDS = ("state", "value", "sample_count", "in_maintenance", "since", "evaluated_at")


def _restart(before: dict) -> None:
    """Every SLO as it was ``before`` (id -> FIELDS); no change rows, no pass claimed."""
    SLOStateChange.objects.all().delete()
    WorkerHeartbeat.objects.all().delete()
    for pk, values in before.items():
        SLO.objects.filter(pk=pk).update(**dict(zip(FIELDS, values, strict=True)))


@pytest.mark.parametrize("layout", ["raw", "compacted"])
def test_a_pass_in_one_statement_leaves_every_slo_as_the_general_path(
    layout, settings, monkeypatch
):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    if layout == "compacted":  # every window before the read horizon, read from blocks
        settings.HMS_METRIC_COMPACT_AFTER_HOURS = -72
    _scenario(now)
    if layout == "compacted":
        assert compaction.compact(timezone.now())
    before = {row[0]: row[1:] for row in SLO.objects.values_list("id", *FIELDS)}
    one_statement = _run(now)
    _restart(before)
    monkeypatch.setattr(maintenance, "every_service_in_maintenance", lambda at: None)
    with CaptureQueriesContext(connection) as general_statements:
        general = _run(now)
    assert not any("WITH s AS MATERIALIZED" in q["sql"] for q in general_statements)
    for k, (mine, theirs) in enumerate(zip(one_statement, general, strict=True)):
        assert mine[0] == theirs[0], k
        assert mine[1] == theirs[1], k
    final, changes = one_statement[-1]
    moved = {service for service, *_ in changes}
    assert {"Breaches", "Recovers", "Goes_Quiet", "Too_Few", "Long"} <= moved
    assert final["Enters"][3] is True and final["Leaves"][3] is False  # both flipped
    assert not one_statement[0][0]["Enters"][3] and one_statement[0][0]["Leaves"][3]
    assert (final["Steady"][0], final["Never_Data"][0]) == ("healthy", "no_data")


def test_a_steady_pass_reads_and_writes_the_slos_in_one_statement():
    for i in range(12):
        make_service(f"Scanner_{i}")
    now = timezone.now().replace(microsecond=0)
    for k in range(2):
        for i in range(12):
            readings(f"Scanner_{i}", [10.0 + i + k] * 3, end=now + timedelta(seconds=k))
    evaluate_all(now)  # no_data -> healthy
    with CaptureQueriesContext(connection) as ctx:
        result = evaluate_all(now + timedelta(seconds=1))
    assert result.evaluated == 12 and result.changes == []
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    reading = [s for s in statements if "ops_slo" in s]
    assert len(reading) == 1 and "UPDATE ops_slo" in reading[0]
    assert len(statements) == 3  # claim, maintenance windows, the pass
    values = dict(SLO.objects.values_list("service_id", "value"))
    assert values == {f"Scanner_{i}": 11.0 + i for i in range(12)}
