"""The deviation formula, its sign, the threshold, and what is refused before any run."""

import pytest
from django.core.exceptions import ValidationError

from apm import services
from apm.models import Baseline, Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("op", "target", "actual", "expected"),
    [
        ("le", 30, 37.2, 24.0),  # the seed: 37.2 days against "≤ 30"
        ("le", 30, 24, -20.0),  # better than promised is negative
        ("ge", 0.9, 0.8, 11.111111),  # falling short of "≥ 0.9" is worse, so positive
        ("ge", 0.5, 0.8, -60.0),
        ("le", -10, -5, 50.0),  # negative targets: positive still means worse
    ],
)
def test_positive_deviation_always_means_worse(op, target, actual, expected):
    baseline = Baseline(target_value=target, compare_op=op)
    assert baseline.deviation_pct(actual) == pytest.approx(expected)


def test_breach_only_above_the_threshold():
    program = f.program()
    at_threshold = f.baseline(program, probe_query="SELECT 36", target_value=30)
    above = f.baseline(program, probe_query="SELECT 36.3", target_value=30)
    assert services.run_baseline(at_threshold).status == Deviation.Status.OK  # exactly 20 %
    assert services.run_baseline(above).status == Deviation.Status.BREACH


def test_evidence_shows_the_computation():
    deviation = services.run_baseline(f.baseline(probe_query="SELECT 37.2", target_value=30))
    assert deviation.evidence["computation"] == "(37.2 - 30) / 30 * 100 = 24"
    assert deviation.evidence["threshold_pct"] == 20


def test_target_of_zero_is_refused_with_a_clear_message():
    candidate = Baseline(program=f.program(), name="zero", target_value=0, probe_query="SELECT 1")
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert "percent deviation from 0 is undefined" in refused.value.message_dict["target_value"][0]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 2 * *", "expected 5 fields"),
        ("61 2 * * *", "minute: 61 is outside 0-59"),
        ("0 2 31 2 *", "never fires"),
        # Celery (beat runs the schedule) reads day names ("mon" is valid), not made-up ones
        ("0 2 * * funday", "day of week: 'funday' is refused by Celery's crontab"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_cron_field(schedule, message):
    candidate = Baseline(program=f.program(), name="s", target_value=5, probe_query="SELECT 1")
    candidate.schedule = schedule
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert message in refused.value.message_dict["schedule"][0]


def test_baseline_names_are_unique_per_program():
    program = f.program()
    f.baseline(program, name="avg_wait_days")
    twin = Baseline(program=program, name="avg_wait_days", target_value=3, probe_query="SELECT 1")
    with pytest.raises(ValidationError):
        twin.full_clean()
    f.baseline(f.program(), name="avg_wait_days")  # another program may reuse the name
