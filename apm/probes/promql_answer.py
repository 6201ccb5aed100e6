"""The promql probe's answers read into Readings: pure JSON handling, no requests
(``apm.probes.promql`` sends them). Nothing but numbers leaves an answer."""

from __future__ import annotations

import math
from datetime import datetime

from apm.probes.base import ProbeError, Reading


def range_fields(start: datetime, end: datetime, step_seconds: int) -> dict:
    return {
        "start": f"{start.timestamp():.3f}",
        "end": f"{end.timestamp():.3f}",
        "step": f"{step_seconds}s",
    }


def range_readings(result: list) -> dict[float, Reading]:
    """A Reading per evaluation time (Unix seconds) of a ``query_range`` answer."""
    _one_series(result)
    readings: dict[float, Reading] = {}
    same: dict[float, Reading] = {}  # one (immutable) Reading per distinct value
    for sample in values_of(result):
        try:
            value = float(sample[1])
            if math.isfinite(value):  # the usual case, without _reading's evidence
                shared = same.get(value)
                if shared is None:
                    shared = same[value] = Reading(value)
                readings[float(sample[0])] = shared
                continue
            # NaN: no data, as the instant query's (this called the local Reading before:
            # "not a number", an error, or UnboundLocalError when the first sample)
            readings[float(sample[0])] = reading("scalar", sample)
        except (ProbeError, TypeError, ValueError, IndexError) as exc:
            readings[float(sample[0])] = _not_a_number(exc)
    return readings


def range_steps(result: list, times: list[float], convert, missing) -> list:
    """``convert(reading)`` at each of ``times`` (``missing`` where the answer has none):
    what ``range_readings`` gives looked up at each time, in one pass when the answer has
    a sample at each time in order (Prometheus's answer over a full history), each
    distinct value text read and converted once (the results are shared per value)."""
    _one_series(result)
    values = values_of(result)
    if len(values) == len(times):
        out, same = [], {}
        append, known = out.append, same.get
        try:
            for (at, text), expected in zip(values, times, strict=True):
                if at != expected:
                    break  # not the plain answer: the general way below
                item = known(text)
                if item is None:
                    item = same[text] = convert(_sample_reading((at, text)))
                append(item)
            else:
                return out
        except (TypeError, ValueError):  # a sample not [time, value], a value not hashable
            pass
    found = range_readings(result)
    return [missing if (r := found.get(t)) is None else convert(r) for t in times]


def _one_series(result: list) -> None:
    if len(result) > 1:
        raise ProbeError(
            f"the query returned {len(result)} series; a baseline needs one number "
            "(aggregate with sum(), avg(), ...)"
        )


def _sample_reading(sample) -> Reading:
    """One ``[time, "value"]`` sample's Reading, as ``range_readings`` reads it."""
    try:
        value = float(sample[1])
        if math.isfinite(value):
            return Reading(value)
        return reading("scalar", sample)
    except (ProbeError, TypeError, ValueError, IndexError) as exc:
        return _not_a_number(exc)


def _not_a_number(exc: Exception) -> Reading:
    message = str(exc) if isinstance(exc, ProbeError) else "a sample that is not a number"
    return Reading(None, None, message, {"error": True})


def values_of(series: list) -> list:
    return series[0].get("values", []) if series else []


def reading(result_type: str, result) -> Reading:
    """One number from an instant vector or scalar. Nothing but numbers leaves: the
    evidence keeps the sample's timestamp and value, never the series' labels (text)."""
    if result_type == "vector":
        if not result:
            raw = {"resultType": result_type, "result": []}
            return Reading(None, raw, "Prometheus returned an empty result (no such series)")
        if len(result) > 1:
            raise ProbeError(
                f"the query returned {len(result)} series; a baseline needs one number "
                "(aggregate with sum(), avg(), ...)"
            )
        sample = result[0].get("value") if isinstance(result[0], dict) else None
    elif result_type == "scalar":
        sample = result
    else:
        kind = result_type if result_type in ("matrix", "string") else "result of another type"
        raise ProbeError(
            f"the query returned a {kind}; a baseline needs an instant vector or scalar"
        )
    try:
        timestamp, value = float(sample[0]), float(sample[1])  # values come as strings
    except (TypeError, ValueError, IndexError, KeyError):
        raise ProbeError("Prometheus returned a sample that is not a number") from None
    shown = {"value": [timestamp, sample[1]]} if result_type == "vector" else [timestamp, sample[1]]
    raw = {"resultType": result_type, "result": [shown] if result_type == "vector" else shown}
    if math.isnan(value):
        return Reading(None, raw, "Prometheus returned NaN (e.g. 0/0: no events in the window)")
    if math.isinf(value):
        raise ProbeError(f"Prometheus returned {'-' if value < 0 else '+'}Inf (division by zero?)")
    return Reading(value, raw)
