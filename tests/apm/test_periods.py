"""apm.periods: the period containing an instant, its ends, labels and neighbours (pure)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from apm import periods
from apm.periods import Period, PeriodError

NY = "America/New_York"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_month_in_utc_and_its_label():
    p = Period.containing("month", utc(2026, 11, 17, 13), "UTC", 10)
    assert (p.start, p.end, p.label) == (utc(2026, 11, 1), utc(2026, 12, 1), "2026-11")
    assert p.next().label == "2026-12" and p.previous().label == "2026-10"
    assert (
        Period.containing("month", utc(2026, 12, 31, 23, 59), "UTC", 10).next().label == "2027-01"
    )


@pytest.mark.parametrize(
    ("at", "label", "start", "end"),
    [
        (utc(2027, 1, 1), "2027Q1", utc(2027, 1, 1), utc(2027, 4, 1)),
        (utc(2027, 3, 31, 23, 59, 59), "2027Q1", utc(2027, 1, 1), utc(2027, 4, 1)),
        (utc(2026, 10, 1), "2026Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        (utc(2026, 9, 30, 23), "2026Q3", utc(2026, 7, 1), utc(2026, 10, 1)),
    ],
)
def test_quarters_with_the_october_fiscal_year_are_calendar_quarters(at, label, start, end):
    p = Period.containing("quarter", at, "UTC", 10)
    assert (p.label, p.start, p.end) == (label, start, end)


def test_quarters_follow_a_fiscal_start_month_off_the_calendar_quarters():
    p = Period.containing("quarter", utc(2027, 1, 15), "UTC", 2)  # Feb-Apr blocks
    assert (p.start, p.end) == (utc(2026, 11, 1), utc(2027, 2, 1))
    assert p.label == "2026Q4"


@pytest.mark.parametrize(
    ("at", "label", "start_year"),
    [
        (utc(2026, 10, 1, 4), "FY2027", 2026),  # 00:00 in New York is 04:00 UTC
        (utc(2027, 9, 30, 12), "FY2027", 2026),
        (utc(2026, 10, 1, 3, 59), "FY2026", 2025),  # still 30 September in New York
        (utc(2027, 10, 1, 3, 59, 59), "FY2027", 2026),
    ],
)
def test_the_fiscal_year_starts_at_midnight_in_its_zone(at, label, start_year):
    p = Period.containing("fiscal_year", at, NY, 10)
    assert p.label == label
    assert p.start == utc(start_year, 10, 1, 4)  # EDT (UTC-4) on 1 October
    assert p.end == utc(start_year + 1, 10, 1, 4)


def test_a_period_across_a_dst_change_is_an_hour_shorter_not_shifted():
    march = Period.containing("month", utc(2027, 3, 20), NY, 10)  # DST starts 14 March 2027
    assert march.start == utc(2027, 3, 1, 5)  # EST
    assert march.end == utc(2027, 4, 1, 4)  # EDT
    assert march.end - march.start == timedelta(days=31) - timedelta(hours=1)
    november = Period.containing("month", utc(2026, 11, 20), NY, 10)  # DST ends 1 November
    assert november.end - november.start == timedelta(days=30, hours=1)
    q1 = Period.containing("quarter", utc(2027, 2, 1), NY, 10)
    assert (q1.start, q1.end) == (utc(2027, 1, 1, 5), utc(2027, 4, 1, 4))


def test_previous_n_and_between_are_oldest_first_and_contiguous():
    p = Period.containing("quarter", utc(2027, 5, 1), NY, 10)
    back = p.previous_n(8)
    assert [b.label for b in back[:2]] == ["2025Q2", "2025Q3"] and back[-1].label == "2027Q1"
    assert all(a.end == b.start for a, b in itertools.pairwise(back))
    spanned = periods.between("month", utc(2026, 11, 15), utc(2027, 2, 1), "UTC", 10)
    assert [s.label for s in spanned] == ["2026-11", "2026-12", "2027-01"]
    assert (
        periods.closed_periods("fiscal_year", utc(2027, 1, 1), 2, "UTC", 10)[-1].label == "FY2026"
    )


def test_to_date_seconds_is_the_span_from_the_start_capped_at_the_end():
    p = Period.containing("month", utc(2026, 11, 2), "UTC", 10)
    assert p.to_date_seconds(utc(2026, 11, 2)) == 86400
    assert p.to_date_seconds(utc(2027, 1, 1)) == 30 * 86400


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Period.containing("week", utc(2027, 1, 1)), "not a calendar period"),
        (lambda: Period.containing("rolling", utc(2027, 1, 1)), "not a calendar period"),
        (lambda: Period.containing("month", datetime(2027, 1, 1)), "time zone"),
        (lambda: Period.containing("month", utc(2027, 1, 1), "Mars/Olympus"), "IANA"),
        (lambda: Period.containing("month", utc(2027, 1, 1), "../etc/passwd"), "IANA"),
        (lambda: Period.containing("month", utc(2027, 1, 1), "UTC", 13), "1-12"),
        (lambda: Period.containing("month", utc(2027, 1, 1), "UTC", 0), "1-12"),
    ],
)
def test_bad_input_is_refused_naming_what(call, message):
    with pytest.raises(PeriodError, match=message):
        call()


def test_the_fiscal_start_month_comes_from_the_setting(settings):
    settings.HMS_FISCAL_YEAR_START_MONTH = 7
    assert Period.containing("fiscal_year", utc(2027, 7, 1), "UTC").label == "FY2028"
    assert Period.containing("fiscal_year", utc(2027, 6, 30), "UTC").label == "FY2027"


def test_review_quarters_are_the_periods_quarters_and_know_their_fiscal_year(settings):
    from apm.review.quarters import Quarter

    q = Quarter.parse("2027Q1")
    assert (q.start, q.end) == (utc(2027, 1, 1), utc(2027, 4, 1))
    assert q.fiscal_label == "FY2027 Q2"  # October's fiscal year: Oct-Dec is Q1
    assert str(q.previous()) == "2026Q4" and q.previous().fiscal_label == "FY2027 Q1"
    assert str(Quarter.parse("2026Q4").next()) == "2027Q1"
    assert Quarter.containing(utc(2027, 3, 31, 23, 59)) == q
    settings.HMS_FISCAL_YEAR_START_MONTH = 2  # February: quarters Feb-Apr, May-Jul, ...
    q = Quarter.containing(utc(2027, 3, 15))
    assert (q.start, q.end) == (utc(2027, 2, 1), utc(2027, 5, 1))
    assert str(q) == "2027Q1" and q.fiscal_label == "FY2028 Q1"
    assert Quarter.parse(str(q)) == q
