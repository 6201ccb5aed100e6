"""The five-field cron shared by the server (slots, validation) and the SDK (Watchdog.serve)."""

from datetime import UTC, datetime

import pytest

from hms_apm.cron import Cron, CronError


def at(*args):
    return datetime(*args, tzinfo=UTC)


def test_nightly_schedule_previous_and_next_fire_times():
    nightly = Cron.parse("0 2 * * *")
    assert nightly.previous(at(2026, 3, 4, 1, 59)) == at(2026, 3, 3, 2, 0)
    assert nightly.previous(at(2026, 3, 4, 2, 0, 30)) == at(2026, 3, 4, 2, 0)
    assert nightly.next_after(at(2026, 3, 4, 2, 0)) == at(2026, 3, 5, 2, 0)


def test_steps_ranges_lists_and_weekdays():
    cron = Cron.parse("*/15 9-17/4 * * 1,3,5")  # Mon, Wed, Fri at 9/13/17h every 15 min
    assert cron.matches(at(2026, 3, 4, 13, 45))  # a Wednesday
    assert not cron.matches(at(2026, 3, 5, 13, 45))  # a Thursday
    assert not cron.matches(at(2026, 3, 4, 10, 0))
    assert cron.next_after(at(2026, 3, 4, 17, 45)) == at(2026, 3, 6, 9, 0)


def test_sunday_is_zero_and_both_day_fields_must_match_as_in_celery():
    cron = Cron.parse("0 0 13 * 5")  # Friday the 13th
    assert cron.next_after(at(2026, 1, 1, 0, 0)) == at(2026, 2, 13, 0, 0)
    assert Cron.parse("0 0 * * 0").matches(at(2026, 3, 8, 0, 0))  # a Sunday


def test_rare_schedules_are_found_quickly():
    assert Cron.parse("0 0 29 2 *").next_after(at(2026, 1, 1)) == at(2028, 2, 29, 0, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * * 7", "day of week: 7 is outside 0-6"),
        ("5-1 * * * *", "runs backwards"),
        ("5/10 * * * *", "a step needs '*' or a range"),
        ("1,,2 * * * *", "empty item"),
        ("*/0 * * * *", "minute: 0 is outside 1-60"),
    ],
)
def test_invalid_expressions_name_the_field(expression, message):
    with pytest.raises(CronError, match=message.replace("*", r"\*")):
        Cron.parse(expression)


def test_a_schedule_that_never_fires_says_so():
    with pytest.raises(CronError, match="never fires"):
        Cron.parse("0 0 30 2 *").next_after(at(2026, 1, 1))
