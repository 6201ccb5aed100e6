"""apm.backtest_points: the evaluation times' texts and the last policy check, computed
without a datetime per point, equal what the aware datetimes give."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from apm import backtest_points as points
from ops.whatif import Range

ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7)),
         timezone(timedelta(hours=1, seconds=15)), ZoneInfo("America/New_York")]  # fmt: skip


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("step", [60, 3600, 6 * 3600 + 17, 86400, 7 * 86400])
@pytest.mark.parametrize("micro", [0, 250_000])
def test_iso_times_are_the_aware_times_isoformat(zone, step, micro):
    since = datetime(2026, 2, 27, 23, 45, 10, micro, tzinfo=zone)
    span = Range(since, since + timedelta(seconds=step * 40 + 5), step)
    assert points.count(span) == len(span.times) == 41
    assert points.iso_times(span) == [t.isoformat() for t in span.times]


def _checks(start, end, hour, minute):
    day = start.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    day += timedelta(days=day < start)
    while day < end:
        yield day
        day += timedelta(days=1)


BEFORE = [datetime(2026, 3, 1, 2, 30, tzinfo=UTC), datetime(2026, 3, 1, 2, 30, 0, 1, tzinfo=UTC),
          datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
          datetime(2026, 3, 1, 3, 0, tzinfo=ZoneInfo("Europe/Berlin"))]  # fmt: skip


@pytest.mark.parametrize("before", BEFORE)
def test_the_last_policy_check_is_the_last_daily_time_before(before):
    last = points.last_policy_check(before, 2, 30)
    assert last == list(_checks(before - timedelta(days=3), before, 2, 30))[-1]
