"""apm.prepared_reads: the same rows as a plain execution, on PostgreSQL from one
prepared statement per connection (reused, and prepared again after a rollback)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from apm import prepared_reads

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT CAST(%s AS int) + 1, 'x' UNION ALL SELECT CAST(%s AS int) * 2, NULL ORDER BY 1"


def _plain(params):
    with connection.cursor() as cursor:
        cursor.execute(SQL, params)
        return cursor.fetchall()


def _prepared_here() -> int:
    with connection.cursor() as cursor:
        n = SQL.replace("%s", "$1", 1).replace("%s", "$2", 1)  # psycopg's form
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = %s", [n])
        return cursor.fetchone()[0]


def test_the_rows_are_a_plain_executions():
    for params in ([1, 2], [5, 7], [1, 2]):
        assert prepared_reads.fetchall(SQL, params) == _plain(params)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared on PostgreSQL only")
def test_one_prepared_statement_per_connection_kept_after_a_rollback_and_a_deallocate():
    for params in ([1, 2], [3, 4], [5, 6]):
        prepared_reads.fetchall(SQL, params)
    assert _prepared_here() == 1  # prepared once, run three times
    assert connection.connection.prepare_threshold is None  # Django's setting untouched
    with pytest.raises(RuntimeError), transaction.atomic():
        prepared_reads.fetchall(SQL, [1, 2])
        raise RuntimeError
    assert _prepared_here() == 1  # prepared statements are not transactional
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # from elsewhere: prepared again at once
    assert prepared_reads.fetchall(SQL, [8, 9]) == _plain([8, 9])
    assert _prepared_here() == 1
    connection.close()  # a new connection prepares again
    assert prepared_reads.fetchall(SQL, [8, 9]) == _plain([8, 9])
    assert _prepared_here() == 1


def test_beside_gives_the_rows_and_the_works_result_once():
    calls = []
    rows, done = prepared_reads.fetchall_beside(SQL, [3, 4], lambda: calls.append(1) or "done")
    assert (rows, done, calls) == (_plain([3, 4]), "done", [1])
    assert prepared_reads.fetchall_beside(SQL, [None, 2], lambda: 1) == (_plain([None, 2]), 1)


def test_beside_the_types_are_a_plain_executions():
    sql = "SELECT %s = %s, CAST(%s AS bigint), CAST(%s AS smallint), CAST(%s AS text)"
    params = [True, True, 2**40, 7, "é"]
    assert prepared_reads.fetchall_beside(sql, params, lambda: 1)[0] == [(True, 2**40, 7, "é")]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchall() == [(True, 2**40, 7, "é")]


def test_beside_double_precision_columns_are_a_plain_executions_to_the_bit():
    values = ["0.1", "1e-300", "-0.0", "123456789.12345679", "NaN", "Infinity", "-Infinity"]
    sql = "SELECT " + ", ".join(
        ["CAST(%s AS double precision)"] * len(values) + ["CAST(1 AS double precision) / 3"]
    )
    [found] = prepared_reads.fetchall_beside(sql, values, lambda: 1)[0]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        [plain] = cursor.fetchall()
    if connection.vendor == "postgresql":
        assert [type(v) for v in found[:-1]] == [float] * len(values)
    assert [repr(v) for v in found] == [repr(v) for v in plain]  # NaN, -0.0 and every digit


@pytest.mark.skipif(connection.vendor != "postgresql", reason="sent first on PostgreSQL only")
def test_beside_the_statement_is_out_while_the_work_runs():
    import psycopg

    seen = []

    def work():  # the statement sent, its answer not read yet: a command in progress
        seen.append(psycopg.pq.TransactionStatus(connection.connection.pgconn.transaction_status))
        return 1

    assert prepared_reads.fetchall_beside(SQL, [1, 2], work) == (_plain([1, 2]), 1)
    assert seen == [psycopg.pq.TransactionStatus.ACTIVE]


def test_beside_the_statement_is_in_the_query_log_and_the_wrappers():
    wrapped = []

    def wrapper(execute, sql, params, many, context):
        wrapped.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(wrapper):
        prepared_reads.fetchall_beside(SQL, [1, 2], lambda: 1)
    assert len(queries) == 1 and wrapped == [SQL]


def test_beside_a_failing_work_or_statement_leaves_the_connection_usable():
    def fails():
        raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        prepared_reads.fetchall_beside(SQL, [1, 2], fails)
    assert _plain([1, 2]) == prepared_reads.fetchall(SQL, [1, 2])
    with pytest.raises(DatabaseError):
        prepared_reads.fetchall_beside("SELECT * FROM no_such_table_here", [], lambda: 1)
    assert _plain([5, 6]) == prepared_reads.fetchall(SQL, [5, 6])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared on PostgreSQL only")
def test_inside_a_transaction_a_statement_deallocated_elsewhere_is_not_fatal():
    """psycopg sends DEALLOCATE ALL after a rollback once it holds prepared statements of
    its own (``apm.steady_runs`` makes them): a read inside a later transaction on that
    connection must still answer, not abort the transaction."""
    import psycopg

    prepared_reads.fetchall(SQL, [1, 2])  # ours, prepared outside a transaction
    raw = connection.connection
    raw.prepare_threshold = 0
    try:
        with psycopg.Cursor(raw) as cursor:  # psycopg's own, as steady runs prepare
            cursor.execute("SELECT %s::int", [1])
    finally:
        raw.prepare_threshold = None
    with pytest.raises(RuntimeError), transaction.atomic():
        _plain([1, 2])  # a transaction begun, so that leaving it sends a ROLLBACK
        raise RuntimeError  # ROLLBACK: psycopg deallocates all, ours too
    assert _prepared_here() == 0
    with transaction.atomic():
        assert prepared_reads.fetchall(SQL, [8, 9]) == _plain([8, 9])
        assert prepared_reads.fetchall_beside(SQL, [3, 4], lambda: 5) == (_plain([3, 4]), 5)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the transaction is not aborted
    assert prepared_reads.fetchall(SQL, [8, 9]) == _plain([8, 9])  # and prepared again
    assert _prepared_here() == 1
