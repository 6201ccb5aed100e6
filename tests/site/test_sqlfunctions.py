"""EpochBucket: the database's bucket start as epoch seconds, equal to Django's Trunc in UTC."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from hms_site.sqlfunctions import EpochBucket
from ops.models import Sample, Series
from tests import factories as f

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2026, 12, 1, 23, 59, 59, 999_999, tzinfo=UTC),  # last microsecond of a day
    datetime(2026, 12, 2, 0, 0, 0, tzinfo=UTC),  # a day's first instant
    datetime(2026, 12, 2, 0, 0, 30, 500_000, tzinfo=UTC),
    datetime(2024, 2, 29, 13, 1, 59, tzinfo=UTC),  # a leap day
    datetime(1999, 12, 31, 23, 30, tzinfo=UTC),  # before the PostgreSQL epoch
    datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # epoch seconds ~4.1e9
]


@pytest.mark.parametrize(
    ("seconds", "trunc"), [(60, TruncMinute), (3600, TruncHour), (86400, TruncDay)]
)
def test_buckets_equal_truncation_in_utc(seconds, trunc):
    f.make_service("Bucket_Service")
    series = Series.objects.create(service_id="Bucket_Service", name="queue_time_seconds")
    Sample.objects.bulk_create([Sample(series=series, ts=ts, value=1.0) for ts in MOMENTS])
    rows = Sample.objects.annotate(
        bucket=EpochBucket("ts", seconds), truncated=trunc("ts")
    ).values_list("ts", "bucket", "truncated")
    got = sorted((ts, bucket) for ts, bucket, _ in rows)
    assert all(isinstance(bucket, int) for _, bucket in got)
    assert got == sorted((ts, int(trunc_.timestamp())) for ts, _, trunc_ in rows)
    for ts, bucket in got:
        assert ts - timedelta(seconds=seconds) < datetime.fromtimestamp(bucket, UTC) <= ts


@pytest.mark.parametrize("seconds", [0, -60, 1.5, "60"])
def test_a_bucket_that_is_not_a_positive_whole_number_of_seconds_is_refused(seconds):
    with pytest.raises(ValueError, match="positive integer"):
        EpochBucket("ts", seconds)
