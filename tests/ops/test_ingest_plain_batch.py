"""``plain_batch`` (whole-column checks) answers exactly what the per-sample loop answers.

The column checks only ever say "all plain, here are the rows" or "ask the loop"; for any
batch where they answer, the loop's rows and series must be the same, value for value.
"""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.metrics import validation
from ops.metrics.validation import SampleError, Window, check_batch, plain_batch

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
WINDOW = Window(NOW)
EARLIEST, LATEST = WINDOW.earliest_epoch, WINDOW.latest_epoch
MISSING = object()

names = st.sampled_from(["cpu", "queue_time_seconds", "", None, 5, MISSING])
services = st.sampled_from(["Svc", "Other", "", None, 3, MISSING, MISSING, MISSING])
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e308, max_value=1e308),
    st.integers(),
    st.booleans(),
    st.sampled_from(["1.5", None, MISSING]),
)
stamps = st.one_of(
    st.floats(min_value=EARLIEST - 10, max_value=LATEST + 10),
    st.sampled_from([EARLIEST, LATEST, float("nan"), float("inf"), MISSING, "2026-12-03T11:00:00"]),
    st.integers(min_value=int(EARLIEST), max_value=int(LATEST)),
)
extras = st.sampled_from([{}, {}, {}, {"labels": {}}, {"labels": {"a": "b"}}, {"color": "red"}])


@st.composite
def sample(draw):
    fields = {"name": draw(names), "value": draw(values), "ts": draw(stamps)}
    fields["service"] = draw(services)
    raw = {k: v for k, v in fields.items() if v is not MISSING}
    raw.update(draw(extras))
    return raw if draw(st.integers(0, 30)) else draw(st.sampled_from([[], "x", None]))


plain_sample = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["cpu", "mem"]),
        # (a sum of values near the float maximum overflows: such a batch takes the loop)
        "value": st.floats(min_value=-1e300, max_value=1e300),
        "ts": st.floats(min_value=EARLIEST, max_value=LATEST),
    },
    optional={"service": st.sampled_from(["Svc", "Other"])},
)


def loop_answer(samples, default_service, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(validation, "plain_batch", lambda *args: None)
        try:
            return check_batch(samples, default_service, WINDOW)
        except SampleError:
            return SampleError


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    samples=st.lists(st.one_of(sample(), plain_sample), min_size=1, max_size=8),
    default=st.sampled_from(["Svc", None, ""]),
)
def test_the_column_checks_answer_only_what_the_loop_answers(samples, default, monkeypatch):
    answer = plain_batch(samples, default, WINDOW)
    if answer is not None:
        assert answer == loop_answer(samples, default, monkeypatch)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    samples=st.lists(plain_sample, min_size=1, max_size=20),
    default=st.sampled_from(["Svc", "Other"]),
)
def test_every_batch_of_usual_samples_takes_the_column_checks(samples, default, monkeypatch):
    answer = plain_batch(samples, default, WINDOW)
    assert answer is not None
    assert answer == loop_answer(samples, default, monkeypatch)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "cpu", "value": float("nan"), "ts": LATEST},
        {"name": "cpu", "value": float("inf"), "ts": LATEST},
        {"name": "cpu", "value": 1, "ts": LATEST},
        {"name": "cpu", "value": True, "ts": LATEST},
        {"name": "cpu", "value": 1.0, "ts": LATEST + 1},
        {"name": "cpu", "value": 1.0, "ts": EARLIEST - 1},
        {"name": "cpu", "value": 1.0, "ts": float("nan")},
        {"name": "cpu", "value": 1.0},
        {"name": "", "value": 1.0, "ts": LATEST},
        {"name": "cpu", "value": 1.0, "ts": LATEST, "service": ""},
        {"name": "cpu", "value": 1.0, "ts": LATEST, "labels": {}},
        {"name": "cpu", "value": 1.0, "ts": LATEST, "extra": 1},
    ],
)
def test_one_unusual_sample_sends_the_whole_batch_to_the_loop(bad):
    good = {"name": "cpu", "value": 1.0, "ts": EARLIEST}
    assert plain_batch([good, bad, good], "Svc", WINDOW) is None


def test_a_sum_that_overflows_is_left_to_the_loop_which_accepts_it(monkeypatch):
    samples = [{"name": "cpu", "value": 1e308, "ts": LATEST - i} for i in range(3)]
    assert plain_batch(samples, "Svc", WINDOW) is None
    rows, _ = loop_answer(samples, "Svc", monkeypatch)
    assert [value for _, _, value, _ in rows] == [1e308] * 3
