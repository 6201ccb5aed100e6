"""What a watchdog run does in fewer steps stays what it did: the probe's query string is
``urlencode``'s, its pool the manager's, ``evaluate``'s positional ``Deviation`` the keyword
form's instance, and the steady statement's rows ``prepared_reads.rows_of``'s."""

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.db import DataError, connection

from apm import prepared_statement, services
from apm.models import Deviation
from apm.prepared_reads import rows_of
from apm.probes import Reading
from apm.probes.promql import _Pools, _query_string
from tests import factories as f

AT = datetime(2026, 1, 1, 2, 3, 4, 567891, tzinfo=UTC)

QUERIES = [
    "rate(voucher_approved_total[7d]) / rate(voucher_applications_total[7d])",
    'sum by (job) (up{job=~"a|b", env!="x y"}) + 1 - 2 * 3 == 4 & 5 # ? %',
    "histogram_quantile(0.9, rate(x_bucket[$__range])) ; ünïcode ✓ /?=&+",
    "",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_query_string_is_urlencodes(query):
    for fields in (
        {"query": query, "timeout": "15s", "time": "1764806400.123"},
        {"query": query, "timeout": "2.5s", "start": "1.000", "end": "2.000", "step": "86400s"},
    ):
        assert _query_string(fields) == urlencode(fields)
        assert _query_string(fields) == urlencode(fields)  # the query's encoding, kept


def test_the_pool_is_the_managers_kept_for_its_address_until_closed(monkeypatch):
    pools = _Pools()
    looked_up = []
    lookup = pools._manager.connection_from_url
    monkeypatch.setattr(
        pools._manager, "connection_from_url", lambda u: looked_up.append(u) or lookup(u)
    )
    first = pools._pool("http://127.0.0.1:9")
    assert first is lookup("http://127.0.0.1:9")
    assert pools._pool("http://127.0.0.1:9") is first and len(looked_up) == 1
    other = pools._pool("http://127.0.0.1:10")  # another address: its own pool
    assert other is not first and other.port == 10 and len(looked_up) == 2
    other.close()
    pools._manager.clear()
    again = pools._pool("http://127.0.0.1:10")  # closed: looked up again
    assert again is not other and again.pool is not None and len(looked_up) == 3


READINGS = [
    (Reading(25.0, {"resultType": "scalar", "result": [1.0, "25"]}), ""),
    (Reading(40.0, {"x": 1}, sample_count=3, newest_at=AT, expected=6.0), ""),
    (Reading(None, None, "Prometheus returned NaN"), ""),
    (Reading(0.0, None, sample_count=0), ""),
    (Reading(None), "Prometheus unreachable: refused"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("reading", "error"), READINGS)
def test_evaluate_builds_the_keyword_forms_instance(reading, error):
    baseline = f.baseline()
    baseline.min_samples = 5  # reading1: 3 samples, insufficient_data
    deviation = services.evaluate(baseline, reading, error, AT, AT, Deviation.Trigger.SCHEDULE)
    pct = deviation.deviation_pct
    keyword = Deviation(
        baseline=baseline,
        evaluated_at=AT,
        actual=reading.value,
        deviation_pct=pct,
        status=deviation.status,
        evidence=deviation.evidence,
        trigger=Deviation.Trigger.SCHEDULE,
        slot=AT,
        **services._quality(baseline, reading),
    )
    assert deviation.__dict__.keys() == keyword.__dict__.keys()
    for name, value in keyword.__dict__.items():
        if name != "_state":
            assert deviation.__dict__[name] == value, name
    assert deviation._state.db == keyword._state.db and deviation._state.adding
    assert deviation.baseline is baseline and deviation.baseline_id == baseline.pk
    deviation.save()
    assert Deviation.objects.get(pk=deviation.pk).status == deviation.status


def _result(sql: bytes):
    connection.ensure_connection()
    return connection.connection.pgconn.exec_(sql)


@pytest.mark.django_db
def test_the_steady_statements_rows_are_rows_ofs():
    if not prepared_statement.usable():
        pytest.skip("libpq's results: PostgreSQL")
    raw = connection.connection
    for sql in (
        b"SELECT 1::int8, NULL::int4, 3::int2",
        b"SELECT 1::int8 WHERE false",
        b"SELECT 7::int8, 'text', true",
        b"SELECT n::int8 FROM generate_series(1, 3) n",
    ):
        results = [_result(sql)]
        assert prepared_statement._rows(results, raw) == rows_of(results, raw), sql
    with pytest.raises(DataError, match="division by zero"):  # rows_of's: Django's error
        prepared_statement._rows([_result(b"SELECT 1/0")], raw)
