"""The ``database`` store on PostgreSQL outside any transaction (the usual ingest request):
a batch whose series all exist is one autocommit COPY, without BEGIN and COMMIT; it is
still all-or-nothing, and a resent batch still goes in with the upsert."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ops.metrics.store import database, get_store
from ops.models import Sample, Series
from tests.factories import make_service

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY"),
]
SERVICE, METRIC = "DCA_Luggage_Scanner", "queue_time_seconds"
KEY = (SERVICE, METRIC, "{}")


@pytest.fixture
def store(settings, monkeypatch):
    settings.HMS_METRICS_STORE = "database"
    make_service()
    copies = []
    real_copy = database._copy_postgresql

    def spy(chunks, ids, done):
        copies.append(connection.get_autocommit())
        return real_copy(chunks, ids, done)

    monkeypatch.setattr(database, "_copy_postgresql", spy)
    store = get_store()
    store.copies = copies
    return store


def rows(seconds, value=1.0):
    now = timezone.now().replace(microsecond=0)
    us = int(now.timestamp()) * 1_000_000
    return [(KEY, us - s * 1_000_000, value, {}) for s in seconds]


def test_a_new_series_is_created_in_a_transaction_then_batches_copy_in_autocommit(store):
    assert store.write({KEY: {}}, [rows(range(10, 20))]) == 10
    assert store.write({KEY: {}}, [rows(range(0, 10)), rows(range(20, 25))]) == 15
    assert store.copies == [False, True]  # atomic (series created), then autocommit
    assert Series.objects.count() == 1 and Sample.objects.count() == 25


def test_an_autocommit_batch_is_all_or_nothing_when_its_chunks_fail(store):
    store.write({KEY: {}}, [rows([100])])

    def chunks():
        yield rows(range(1000))
        raise ValueError("sample 1000: value must be a finite number")

    with pytest.raises(ValueError, match="sample 1000"):
        store.write({KEY: {}}, chunks())
    assert store.copies == [False, True]
    assert Sample.objects.count() == 1
    assert store.write({KEY: {}}, [rows([1, 2])]) == 2  # the connection is usable after


def test_a_resent_batch_in_autocommit_goes_in_with_the_upsert_last_write_wins(store):
    store.write({KEY: {}}, [rows([1, 2, 3])])
    resent = rows([2, 3], value=5.0) + rows([4]) + rows([4], value=8.0)
    assert store.write({KEY: {}}, [resent]) == 4
    assert store.copies == [False, True]
    assert sorted(Sample.objects.values_list("value", flat=True)) == [1.0, 5.0, 5.0, 8.0]
    assert timedelta(0) < timezone.now() - Sample.objects.latest("ts").ts < timedelta(hours=1)
