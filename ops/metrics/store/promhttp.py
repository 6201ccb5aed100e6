"""Talking to a Prometheus-compatible engine: remote write, instant and range queries.

Spoken with urllib3 (a thread-safe keep-alive pool, no retries of its own, proxy
variables not consulted): the engine is an operator setting, not user data, so it is
not sent through ``ops.outbound``'s guard, and it is validated at start
(``hms_site/settings.py``).

Failures are sorted once, here:

- the engine cannot take or answer now (connection refused or reset, timeout, 5xx,
  429) -> ``StoreUnavailable`` with the engine's ``Retry-After`` when it sent one;
  the ingest API answers 503 with ``Retry-After``.
- the engine refuses a write's data for good (400/409/422: out of order, out of bounds, duplicate
  sample for timestamp, a limit of Mimir's...) -> ``RemoteWriteRefused`` carrying its
  message; nothing of the request was stored (Prometheus rolls the whole request
  back), and the ingest API answers 409 naming the problem. Any other 4xx (401,
  403, 404, 413) is the engine's configuration, not the batch: ``StoreUnavailable``.
- a query the engine refuses (400/422) is a bug in this store -> ``QueryFailed``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from urllib.parse import urlencode

import urllib3
from django.conf import settings

from ops.metrics.store.base import StoreRefused, StoreUnavailable
from ops.metrics.store.promwire import CONTENT_HEADERS

logger = logging.getLogger(__name__)
_pool = urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)
DEFAULT_RETRY_AFTER = 5
# Statuses by which the engine refuses the batch's data itself (out of order, out of
# bounds, duplicate sample for timestamp, a per-tenant limit's "bad data").
REFUSED_DATA = frozenset({400, 409, 422})
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class RemoteWriteRefused(StoreRefused):
    """The engine refused the batch for good (HTTP ``status``); nothing was stored."""

    def __init__(self, status: int, message: str):
        super().__init__(
            f"the metrics engine refused the batch ({message}); nothing was stored. "
            "Prometheus takes a series' samples in time order and, unless configured with "
            "out_of_order_time_window, none older than its head block (about an hour)"
        )
        self.status = status
        self.message = message


class QueryFailed(Exception):
    pass


def _timeout() -> urllib3.Timeout:
    total = float(settings.HMS_PROMETHEUS_TIMEOUT_SECONDS)
    return urllib3.Timeout(connect=min(total, 3.0), total=total)


def _retry_after(response) -> int:
    raw = response.headers.get("Retry-After", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 3600 else DEFAULT_RETRY_AFTER


def _request(method: str, url: str, body: bytes, headers: dict, what: str):
    try:
        response = _pool.request(
            method, url, body=body, headers=headers, timeout=_timeout(), retries=False
        )
    except urllib3.exceptions.HTTPError as exc:
        # Connection refused/reset, DNS, timeouts: the engine is not answering. The
        # client is told the kind, never the engine's address (that goes to the log).
        logger.warning("%s to the metrics engine failed: %s", what, exc)
        raise StoreUnavailable(
            f"{what}: the metrics engine is unreachable ({type(exc).__name__})"
        ) from None
    if response.status >= 500 or response.status == 429:
        text = response.data.decode("utf-8", errors="replace").strip()[:300]
        logger.warning("%s: the metrics engine answered %s: %s", what, response.status, text)
        raise StoreUnavailable(
            f"{what}: the metrics engine answered {response.status}",
            retry_after=_retry_after(response),
        )
    return response


def remote_write(body: bytes) -> None:
    """POST one snappy-compressed ``WriteRequest`` to ``HMS_REMOTE_WRITE_URL``."""
    response = _request(
        "POST", settings.HMS_REMOTE_WRITE_URL, body, CONTENT_HEADERS, "remote write"
    )
    if response.status < 300:
        return
    text = response.data.decode("utf-8", errors="replace").strip()[:300]
    if response.status in REFUSED_DATA:
        raise RemoteWriteRefused(response.status, text or f"HTTP {response.status}")
    # 401, 403, 404, 413...: the engine or its address is misconfigured, not the batch.
    # Nothing is stored and the client keeps its samples to send again later.
    logger.error("remote write to HMS_REMOTE_WRITE_URL answered %s: %s", response.status, text)
    raise StoreUnavailable(f"remote write: the metrics engine answered {response.status}")


def rfc3339(moment: datetime | int) -> str:
    """An exact evaluation time (a datetime, or integer milliseconds), to the millisecond.

    Float seconds would round (``.123`` can arrive as ``.12299999``) and move a window
    edge by one millisecond; RFC 3339 text does not.
    """
    if isinstance(moment, int):
        seconds, ms = divmod(moment, 1000)
        base = datetime.fromtimestamp(seconds, tz=UTC)
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
    return rfc3339(to_ms(moment))


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, rounded down (as samples are written)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _api(path: str, fields: dict) -> list:
    base = settings.HMS_METRICS_QUERY_URL.rstrip("/")
    body = urlencode(fields).encode()
    response = _request("POST", f"{base}{path}", body, _FORM, "query")
    try:
        answer = json.loads(response.data)
    except ValueError:
        raise StoreUnavailable(
            f"query: the metrics engine answered {response.status}, not JSON"
        ) from None
    if response.status != 200 or answer.get("status") != "success":
        raise QueryFailed(f"{answer.get('errorType', response.status)}: {answer.get('error')}")
    return answer["data"]["result"]


def query(promql: str, at: datetime | int) -> list:
    """An instant query at ``at``: the ``result`` list (vector or matrix)."""
    return _api("/api/v1/query", {"query": promql, "time": rfc3339(at)})


def query_range(promql: str, start_ms: int, end_ms: int, step_ms: int) -> list:
    return _api(
        "/api/v1/query_range",
        {
            "query": promql,
            "start": rfc3339(start_ms),
            "end": rfc3339(end_ms),
            "step": f"{step_ms / 1000:g}",
        },
    )


_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\")


def alternatives(values) -> str:
    """``a|b\\.c`` matching exactly ``values``, as the body of a PromQL string literal."""
    escaped = (
        "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in value) for value in sorted(values)
    )
    return string_body("|".join(escaped))


def string_body(text: str) -> str:
    """``text`` escaped for the inside of a double-quoted PromQL string."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(metric: str, services) -> str:
    """Every series of ``metric`` (already a Prometheus name) of ``services``."""
    return f'{{__name__="{string_body(metric)}",service=~"{alternatives(services)}"}}'
