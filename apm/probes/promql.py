"""``promql``: one instant query against ``PROMETHEUS_URL``'s ``/api/v1/query``.

Spoken with urllib3 directly (the library under ``requests``): a watchdog run is
one small GET, and requests' per-call session machinery (environment, proxies,
hooks) adds a measurable share to it (see ``bench/watchdog.py``). Prometheus is
reached directly: ``HTTP(S)_PROXY`` variables are not consulted.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

from apm.probes.base import Probe, ProbeError, ProbeKind, Reading, Verification, register

# Saving a baseline waits at most this long for Prometheus to parse the query
# (settings.APM_PROMQL_CHECK_TIMEOUT_SECONDS); a run waits APM_PROMQL_TIMEOUT_SECONDS.
CHECK_TIMEOUT_SECONDS = 3.0
QUERY_TIMEOUT_SECONDS = 15.0


def _timeout(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# Prometheus's API error classes (the message beside them is not shown after a run).
ERROR_TYPES = {"bad_data", "execution", "timeout", "canceled", "internal", "unavailable",
               "not_found", "too_many_requests"}  # fmt: skip

# Thread-safe keep-alive pool; no retries here: a failed run is recorded as an error.
_pool = urllib3.PoolManager(num_pools=4, maxsize=4, retries=False)


def _prometheus_url() -> str | None:
    url = getattr(settings, "PROMETHEUS_URL", None)
    return url.rstrip("/") if url else None


def _get(query: str, *, at: datetime | None, timeout: float) -> urllib3.BaseHTTPResponse:
    fields: dict[str, str] = {"query": query, "timeout": f"{timeout:g}s"}
    if at is not None:
        fields["time"] = f"{at.timestamp():.3f}"
    return _pool.request(
        "GET",
        f"{_prometheus_url()}/api/v1/query",
        fields=fields,
        timeout=urllib3.Timeout(total=timeout),
        retries=False,
    )


def _text(response: urllib3.BaseHTTPResponse) -> str:
    return response.data.decode("utf-8", errors="replace")


def _error_text(response: urllib3.BaseHTTPResponse) -> str:
    try:
        body = json.loads(response.data)
        return str(body.get("error") or body)
    except ValueError:
        return _text(response)[:500] or f"HTTP {response.status}"


_OVER_TIME = re.compile(r"\b[a-z]+_over_time\s*\(")


def count_companion(query: str) -> str | None:
    """The companion query that counts the samples behind ``query`` (docs/VERDICTS.md).

    ``query`` must hold one ``FUNC_over_time(..., SELECTOR[RANGE])`` (optionally inside
    an aggregation such as ``avg(...)``): the companion is
    ``sum(count_over_time(SELECTOR[RANGE]))``, the samples of every series in the range.
    None for any other shape (then ``min_samples`` above 1 is refused on save).
    """
    matches = list(_OVER_TIME.finditer(query or ""))
    if len(matches) != 1:
        return None
    start = matches[0].end()
    depth, args, arg_start = 1, [], start
    for i in range(start, len(query)):
        char = query[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                args.append(query[arg_start:i])
                break
        elif char == "," and depth == 1:
            args.append(query[arg_start:i])
            arg_start = i + 1
    else:
        return None
    inner = args[-1].strip()
    if not inner.endswith("]"):
        return None
    return f"sum(count_over_time({inner}))"


@register
class PromqlProbe(Probe):
    kind = ProbeKind.PROMQL
    timeout_setting, default_timeout = "APM_PROMQL_TIMEOUT_SECONDS", QUERY_TIMEOUT_SECONDS

    def check(self, query: str) -> Verification:
        if not _prometheus_url():
            return Verification(False, "not verified: PROMETHEUS_URL is not set")
        try:
            response = _get(
                query,
                at=None,
                timeout=_timeout("APM_PROMQL_CHECK_TIMEOUT_SECONDS", CHECK_TIMEOUT_SECONDS),
            )
        except urllib3.exceptions.HTTPError as exc:
            return Verification(False, f"not verified: Prometheus unreachable ({exc})")
        if response.status == 400:
            # Prometheus's own parse message, e.g. "1:30: parse error: binary expression ..."
            raise ValidationError(f"Prometheus refused the query: {_error_text(response)}")
        if response.status != 200:
            return Verification(
                False,
                f"not verified: Prometheus answered HTTP {response.status}: "
                f"{_error_text(response)}",
            )
        return Verification(True, "Prometheus parsed and evaluated the query")

    def measure(self, query: str, at: datetime) -> Reading:
        if not _prometheus_url():
            raise ProbeError("PROMETHEUS_URL is not set")
        try:
            response = _get(query, at=at, timeout=self.run_timeout())
        except urllib3.exceptions.HTTPError as exc:
            raise ProbeError(f"Prometheus unreachable: {exc}") from exc
        if response.status != 200:
            # Only Prometheus's error class: its message can quote label values.
            raise ProbeError(f"Prometheus HTTP {response.status} ({_error_type(response)})")
        try:
            data = json.loads(response.data)["data"]
            result_type, result = data["resultType"], data["result"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProbeError(
                f"unexpected answer from Prometheus (HTTP 200, {len(response.data)} bytes, "
                "not the query API's JSON)"
            ) from exc
        return _reading(result_type, result)

    def count(self, query: str, at: datetime) -> int | None:
        """The companion's answer (one more instant query); None when the query has no
        companion. An empty answer is 0 samples."""
        companion = count_companion(query)
        if companion is None:
            return None
        reading = self.measure(companion, at)
        return 0 if reading.value is None else int(reading.value)


def _error_type(response: urllib3.BaseHTTPResponse) -> str:
    """Prometheus's ``errorType`` (bad_data, execution, timeout, ...), never its message."""
    try:
        error_type = json.loads(response.data).get("errorType")
    except (ValueError, AttributeError):
        error_type = None
    return error_type if error_type in ERROR_TYPES else "no error type given"


def _reading(result_type: str, result) -> Reading:
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
