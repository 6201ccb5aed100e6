"""``ops.metrics.store.arrays``: the ``{…}`` literals the database store's statements carry
(the relation ``q`` of ``window_stats``, the SLO tick's UPDATE) read back exactly."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from ops.metrics.store.arrays import literal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's arrays"),
]


def test_text_number_and_instant_literals_read_back_exactly():
    names = ['a"b', "c\\d", "e,f", "{g}", " h ", "", "ü", "NULL"]
    numbers = [0.1, 1e-300, None, 2.0 / 3, -0.0, float("inf"), 12345678901234]
    at = datetime(2026, 12, 3, 10, 0, 0, 500000, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::float8[], %s::timestamptz[], %s::bigint[]",
            [
                literal(names, "text"),
                literal(numbers),
                literal([at], "timestamptz", {at: at.isoformat()}),
                literal([1, None, 2**62]),
            ],
        )
        texts, floats, instants, ints = cursor.fetchone()
    assert texts == names
    assert floats == numbers
    assert instants == [at]
    assert ints == [1, None, 2**62]
