"""apm.probes.promql_answer.range_steps: each time's converted Reading is what
range_readings gives at that time, whether the answer is plain (one pass) or not."""

import math

import pytest

from apm.probes import ProbeError
from apm.probes.promql_answer import range_readings, range_steps

TIMES = [1_780_272_000.0 + k * 86400 for k in range(6)]
MISSING = ("missing",)


def _pair(reading):
    return (reading.value, reading.reason, reading.details)


def _looked_up(result, times):
    found = range_readings(result)
    return [MISSING if (r := found.get(t)) is None else _pair(r) for t in times]


def _series(values):
    return [{"metric": {}, "values": values}]


PLAIN = [[int(t), v] for t, v in zip(TIMES, ["33", "35.5", "33", "NaN", "x", "33"], strict=True)]
CASES = {
    "plain": PLAIN,
    "float times": [[t, v] for t, v in PLAIN],
    "a gap": PLAIN[:2] + PLAIN[3:],
    "one too many": [*PLAIN, [int(TIMES[-1]) + 86400, "1"]],
    "off the grid": [*PLAIN[:2], [int(TIMES[2]) + 1, "7"], *PLAIN[3:]],
    "text times": [[str(t), v] for t, v in PLAIN],
    "out of order": [PLAIN[1], PLAIN[0], *PLAIN[2:]],
    "a short sample": [*PLAIN[:5], [int(TIMES[5])]],
    "a number value": [*PLAIN[:5], [int(TIMES[5]), 12]],
    "empty": [],
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_each_time_is_range_readings_at_that_time(values):
    result = _series(values) if values else []
    try:
        expected = _looked_up(result, TIMES)
    except (ProbeError, IndexError) as exc:
        with pytest.raises(type(exc)):
            range_steps(result, TIMES, _pair, MISSING)
        return
    got = range_steps(result, TIMES, _pair, MISSING)
    assert [_same(a) for a in got] == [_same(b) for b in expected]


def _same(item):  # NaN != NaN: compare its text
    return tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in item)


def test_a_plain_answer_is_converted_once_per_value():
    calls = []
    got = range_steps(_series(PLAIN), TIMES, lambda r: calls.append(r) or _pair(r), MISSING)
    assert len(calls) == 4  # "33" three times: one conversion
    assert got[0] is got[2] is got[5]
    assert got[3][1].startswith("Prometheus returned NaN")
    assert got[4] == (None, "a sample that is not a number", {"error": True})


def test_several_series_are_refused():
    with pytest.raises(ProbeError, match="2 series"):
        range_steps(_series(PLAIN) * 2, TIMES, _pair, MISSING)


@pytest.mark.parametrize("at", [0, 3])
def test_a_nan_step_is_no_data_as_the_instant_querys_wherever_it_is(at):
    values = [[int(t), "NaN" if k == at else "33"] for k, t in enumerate(TIMES)]
    nan = range_readings(_series(values))[TIMES[at]]
    assert (nan.value, nan.details) == (None, {})  # not an error: no data, as live
    assert nan.reason.startswith("Prometheus returned NaN")
