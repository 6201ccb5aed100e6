"""``promql``: one instant query against ``PROMETHEUS_URL``'s ``/api/v1/query``.

Spoken with urllib3 directly (the library under ``requests``): a watchdog run is
one small GET, and requests' per-call session machinery (environment, proxies,
hooks) adds a measurable share to it (see ``bench/watchdog.py``). Prometheus is
reached directly: ``HTTP(S)_PROXY`` variables are not consulted.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from urllib.parse import quote_plus

import orjson
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from urllib3.util import parse_url

from apm.probes.base import (
    Probe,
    ProbeError,
    ProbeKind,
    Reading,
    Verification,
    Window,
    register,
)
from apm.probes.promql_answer import range_fields, range_readings, range_steps, values_of
from apm.probes.promql_answer import reading as one_reading
from apm.probes.promql_count import (
    both,
    combined,
    count_companion,
    count_number,
    count_of,
    count_query_for,
    counted,
    many_counts,
    split,
)

__all__ = ["PromqlProbe", "count_companion", "with_range"]

# A calendar-period baseline's query says ``[$__range]`` where the period to date
# goes: each run replaces it by that span in whole seconds (``[7948800s]``).
RANGE_PLACEHOLDER = "$__range"
# Saving asks Prometheus to parse the query with this span in the placeholder's place.
CHECK_RANGE = "1h"

# Saving a baseline waits at most this long for Prometheus to parse the query
# (settings.APM_PROMQL_CHECK_TIMEOUT_SECONDS); a run waits APM_PROMQL_TIMEOUT_SECONDS.
CHECK_TIMEOUT_SECONDS = 3.0
QUERY_TIMEOUT_SECONDS = 15.0


def _timeout(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# Prometheus's API error classes (the message beside them is not shown after a run).
ERROR_TYPES = {"bad_data", "execution", "timeout", "canceled", "internal", "unavailable",
               "not_found", "too_many_requests"}  # fmt: skip


class _Pools:
    """``urllib3.PoolManager.request`` for the probe's GETs (thread-safe keep-alive pools;
    no retries here: a failed run is recorded as an error), without parsing and
    re-encoding the whole URL with its query string twice a request: the address is
    split once per URL (``_split``), the query string encoded as ``request`` does
    (``urlencode``; ``_query_string``), and the request sent on the host's pool (the
    last one kept: ``_pool``). Redirects are not followed (as ``retries=False`` made
    the manager do: a 3xx is the answer)."""

    def __init__(self):
        self._manager = urllib3.PoolManager(num_pools=4, maxsize=4, retries=False)
        self._last: tuple[str, urllib3.HTTPConnectionPool] | None = None  # origin, its pool

    def request(self, method: str, url: str, *, fields: dict, **kw) -> urllib3.BaseHTTPResponse:
        origin, path = _split(url)
        pool = self._pool(origin)
        target = f"{path}?{_query_string(fields)}"
        return pool.urlopen(method, target, redirect=False, assert_same_host=False, **kw)

    def _pool(self, origin: str) -> urllib3.HTTPConnectionPool:
        """The manager's pool for ``origin``, the last one kept (not looked up again while
        the address is the same and the pool not closed: ``pool.pool`` None)."""
        last = self._last
        if last is not None and last[0] == origin and last[1].pool is not None:
            return last[1]
        pool = self._manager.connection_from_url(origin)
        self._last = (origin, pool)
        return pool


@functools.lru_cache(maxsize=16)
def _split(url: str) -> tuple[str, str]:
    """``(scheme://host:port, path)`` of an address without a query string."""
    parsed = parse_url(url)
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path or "/"


def _query_string(fields: dict[str, str]) -> str:
    """``urlencode(fields)`` for its plain-word names: ``quote_plus`` of each value, the query's
    kept per text (a baseline's query is the same text run after run; the times are not
    kept: they change every run)."""
    return "&".join(
        f"{name}={_quoted_query(value) if name == 'query' else quote_plus(value)}"
        for name, value in fields.items()
    )


@functools.lru_cache(maxsize=4096)
def _quoted_query(query: str) -> str:
    return quote_plus(query)


@functools.lru_cache(maxsize=16)
def _timeout_of(seconds: float) -> urllib3.Timeout:
    return urllib3.Timeout(total=seconds)  # urllib3 clones it for each request


_pool = _Pools()


def _prometheus_url() -> str | None:
    url = getattr(settings, "PROMETHEUS_URL", None)
    return url.rstrip("/") if url else None


def with_range(query: str, window: Window | None) -> str:
    """``query`` with ``$__range`` replaced by the window's span (unchanged without one)."""
    if window is None:
        return query
    return query.replace(RANGE_PLACEHOLDER, f"{window.seconds}s")


def _get(
    query: str, *, at: datetime | None, timeout: float, extra: dict | None = None
) -> urllib3.BaseHTTPResponse:
    fields: dict[str, str] = {"query": query, "timeout": f"{timeout:g}s"}
    if at is not None:
        fields["time"] = f"{at.timestamp():.3f}"
    fields.update(extra or {})
    endpoint = "query_range" if extra else "query"
    return _pool.request(
        "GET",
        f"{_prometheus_url()}/api/v1/{endpoint}",
        fields=fields,
        timeout=_timeout_of(timeout),
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


@register
class PromqlProbe(Probe):
    kind = ProbeKind.PROMQL
    timeout_setting, default_timeout = "APM_PROMQL_TIMEOUT_SECONDS", QUERY_TIMEOUT_SECONDS
    period_placeholder = RANGE_PLACEHOLDER

    def check(self, query: str) -> Verification:
        if not _prometheus_url():
            return Verification(False, "not verified: PROMETHEUS_URL is not set")
        try:
            response = _get(
                query.replace(RANGE_PLACEHOLDER, CHECK_RANGE),
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

    def measure(self, query: str, at: datetime, window: Window | None = None) -> Reading:
        result_type, result = self._ask(with_range(query, window), at=at)
        return one_reading(result_type, result)

    def measure_range(
        self, query: str, start: datetime, end: datetime, step_seconds: int
    ) -> dict[float, Reading]:
        """One ``query_range`` request: a Reading per evaluation time (Unix seconds).

        Each step's value is exactly what an instant query at that time returns
        (Prometheus evaluates the range query as one instant query per step), so
        a backtest's points are the live watchdog's readings. A time with no
        sample is absent from the answer: the caller counts it as no data.
        """
        extra = range_fields(start, end, step_seconds)
        result_type, result = self._ask(query, at=None, extra=extra)
        if result_type != "matrix":
            raise ProbeError(f"query_range returned a {result_type}, not a matrix")
        return range_readings(result)

    def measure_steps(
        self, query: str, start: datetime, end: datetime, step_seconds: int, times, convert, missing
    ) -> list:
        """``measure_range``'s one request, as ``convert(reading)`` at each of ``times`` (Unix
        seconds; ``missing`` where the answer has no sample), shared per value
        (``promql_answer.range_steps``)."""
        extra = range_fields(start, end, step_seconds)
        result_type, result = self._ask(query, at=None, extra=extra)
        if result_type != "matrix":
            raise ProbeError(f"query_range returned a {result_type}, not a matrix")
        return range_steps(result, times, convert, missing)

    def _ask(self, query: str, *, at: datetime | None, extra: dict | None = None, refusable=False):
        """``(result type, result)`` of one query; with ``refusable``, None when Prometheus
        refuses the query (HTTP 400) instead of an error."""
        if not _prometheus_url():
            raise ProbeError("PROMETHEUS_URL is not set")
        try:
            response = _get(query, at=at, timeout=self.run_timeout(), extra=extra)
        except urllib3.exceptions.HTTPError as exc:
            raise ProbeError(f"Prometheus unreachable: {exc}") from exc
        if refusable and response.status == 400:
            return None
        if response.status != 200:
            # Only Prometheus's error class: its message can quote label values.
            raise ProbeError(f"Prometheus HTTP {response.status} ({_error_type(response)})")
        try:  # orjson: the answer's bytes straight to Python (a 90-point range is ~5 kB)
            data = orjson.loads(response.data)["data"]
            return data["resultType"], data["result"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProbeError(
                f"unexpected answer from Prometheus (HTTP 200, {len(response.data)} bytes, "
                "not the query API's JSON)"
            ) from exc

    # --- min_samples above 1: the value and its sample count (apm.probes.promql_count) ---

    def measure_counting(
        self, query: str, count_query: str, at: datetime, window: Window | None = None
    ) -> Reading:
        """``measure`` with ``sample_count``: ONE instant query of value and count together
        (``combined``). A query Prometheus refuses so joined (a scalar: ``label_replace``
        takes a vector) is asked as two instant queries at once instead."""
        counter = count_query_for(query, count_query)
        if counter is None:
            raise ProbeError("min_samples needs a count query (count_query): none is set")
        query, counter = with_range(query, window), with_range(counter, window)
        answer = self._ask_combined(combined(query, counter), at=at, extra=None)
        if answer is None:
            value, count = both(lambda q: self._ask(q, at=at), query, counter)
            return counted(one_reading(*value), count_of(*count))
        values, counts = answer
        return counted(one_reading("vector", values), count_of("vector", counts))

    def measure_range_counting(
        self, query: str, count_query: str, start: datetime, end: datetime, step_seconds: int
    ) -> dict[float, Reading]:
        """``measure_range`` with each step's ``sample_count``: ONE ``query_range`` of value
        and count together (two at once when Prometheus refuses them joined)."""
        counter = count_query_for(query, count_query)
        if counter is None:
            raise ProbeError("min_samples needs a count query (count_query): none is set")
        extra = range_fields(start, end, step_seconds)
        answer = self._ask_combined(combined(query, counter), at=None, extra=extra)
        if answer is None:
            readings, count_readings = both(
                lambda q: self.measure_range(q, start, end, step_seconds), query, counter
            )
            counts = {t: 0 if r.value is None else int(r.value) for t, r in count_readings.items()}
        else:
            values, count_series = answer
            readings = range_readings(values)
            if len(count_series) > 1:
                raise ProbeError(many_counts(len(count_series)))
            counts = {float(t): count_number(v) for t, v in values_of(count_series)}
        same: dict[tuple[int, int], Reading] = {}  # readings are shared per value
        out = {}
        for t, reading in readings.items():
            key = (id(reading), counts.get(t, 0))
            out[t] = same.get(key) or same.setdefault(key, counted(reading, key[1]))
        return out

    def _ask_combined(self, query: str, *, at, extra):
        """``(value series, count series)`` of a combined query; None when Prometheus refused
        the joined form (HTTP 400): the caller asks the two parts apart."""
        answer = self._ask(query, at=at, extra=extra, refusable=True)
        return None if answer is None else split(answer[1])


def _error_type(response: urllib3.BaseHTTPResponse) -> str:
    """Prometheus's ``errorType`` (bad_data, execution, timeout, ...), never its message."""
    try:
        error_type = json.loads(response.data).get("errorType")
    except (ValueError, AttributeError):
        error_type = None
    return error_type if error_type in ERROR_TYPES else "no error type given"
