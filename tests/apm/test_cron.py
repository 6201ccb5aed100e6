"""Five-field cron (UTC): the server's schedules (apm.cron: Celery's parser + croniter)
and the SDK's (hms_apm.schedule: croniter) agree on fire times and on what is valid."""

from datetime import UTC, datetime

import pytest

from apm import cron
from hms_apm.schedule import CronError as SdkCronError
from hms_apm.schedule import next_fire, parse_cron


def at(*args):
    return datetime(*args, tzinfo=UTC)


def fires_at(expression, moment):
    return cron.previous(expression, moment) == moment


def test_nightly_schedule_previous_and_next_fire_times():
    assert cron.previous("0 2 * * *", at(2026, 3, 4, 1, 59)) == at(2026, 3, 3, 2, 0)
    assert cron.previous("0 2 * * *", at(2026, 3, 4, 2, 0, 30)) == at(2026, 3, 4, 2, 0)
    assert cron.previous("0 2 * * *", at(2026, 3, 4, 2, 0)) == at(2026, 3, 4, 2, 0)
    assert cron.next_after("0 2 * * *", at(2026, 3, 4, 2, 0)) == at(2026, 3, 5, 2, 0)
    assert next_fire("0 2 * * *", at(2026, 3, 4, 2, 0)) == at(2026, 3, 5, 2, 0)


def test_steps_ranges_lists_and_weekdays():
    expression = "*/15 9-17/4 * * 1,3,5"  # Mon, Wed, Fri at 9/13/17h every 15 min
    assert fires_at(expression, at(2026, 3, 4, 13, 45))  # a Wednesday
    assert not fires_at(expression, at(2026, 3, 5, 13, 45))  # a Thursday
    assert not fires_at(expression, at(2026, 3, 4, 10, 0))
    assert cron.next_after(expression, at(2026, 3, 4, 17, 45)) == at(2026, 3, 6, 9, 0)
    assert next_fire(expression, at(2026, 3, 4, 17, 45)) == at(2026, 3, 6, 9, 0)


def test_sunday_is_zero_and_both_day_fields_must_match_as_in_celery():
    friday_13th = "0 0 13 * 5"
    assert cron.next_after(friday_13th, at(2026, 1, 1, 0, 0)) == at(2026, 2, 13, 0, 0)
    assert next_fire(friday_13th, at(2026, 1, 1, 0, 0)) == at(2026, 2, 13, 0, 0)
    assert fires_at("0 0 * * 0", at(2026, 3, 8, 0, 0))  # a Sunday
    assert fires_at("0 0 * * sun", at(2026, 3, 8, 0, 0))


def test_a_backwards_range_wraps_around_as_celery_reads_it():
    # Celery's crontab reads 5-1 as 5..59,0,1; croniter agrees, so both sides accept it.
    assert cron.fields("5-1 * * * *") == ["5-1", "*", "*", "*", "*"]
    assert fires_at("5-1 * * * *", at(2026, 3, 4, 10, 0))
    assert not fires_at("5-1 * * * *", at(2026, 3, 4, 10, 3))


def test_rare_schedules_are_found_quickly():
    assert cron.next_after("0 0 29 2 *", at(2026, 1, 1)) == at(2028, 2, 29, 0, 0)
    assert next_fire("0 0 29 2 *", at(2026, 1, 1)) == at(2028, 2, 29, 0, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("* * * * * *", "expected 5 fields"),
        ("@daily", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* 24 * * *", "hour: 24 is outside 0-23"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * 13 *", "month: 13 is outside 1-12"),
        ("* * * * 7", "day of week: 7 is outside 0-6"),  # Celery: 0-6 (croniter takes 7)
        ("5/10 * * * *", "minute: '5/10'"),  # Celery needs '*' or a range before '/'
        ("1,,2 * * * *", "minute: '1,,2'"),
        ("*/0 * * * *", "minute: '*/0'"),
    ],
)
def test_invalid_expressions_name_the_field(expression, message):
    with pytest.raises(cron.CronError, match=message.replace("*", r"\*")):
        cron.fields(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* 24 * * *", "hour: 24 is outside 0-23"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * * 7", "day of week: 7 is outside 0-6"),
        ("1,,2 * * * *", "minute: '1,,2'"),
        ("*/0 * * * *", "minute: '*/0'"),
    ],
)
def test_the_sdk_names_the_field_too(expression, message):
    with pytest.raises(SdkCronError, match=message.replace("*", r"\*")):
        parse_cron(expression)


def test_a_schedule_that_never_fires_says_so():
    with pytest.raises(cron.CronError, match="never fires"):
        cron.next_after("0 0 30 2 *", at(2026, 1, 1))
    with pytest.raises(SdkCronError, match="never fires"):
        next_fire("0 0 30 2 *", at(2026, 1, 1))
