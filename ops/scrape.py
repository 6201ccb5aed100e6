"""Scrape sensors: fetch each ``scrape_url``, parse the Prometheus text format, store samples.

The fetch happens outside any database transaction, with a bounded timeout and
body size, through the outbound guard (``ops.outbound``, purpose ``scrape``:
private ranges yes; loopback, link-local/metadata and the app's own database
and Redis no; redirects not followed); the samples then go through
``ops.metrics.ingest`` (same validation as pushed samples). Each sensor
records its last success or last error, and a failing sensor never stops the
others. An error says what failed (status, refusal, timeout, "not Prometheus
text") and never quotes the response: what a target answered is not echoed to
whoever can read the sensor.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import requests
import urllib3
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from ops.metrics import IngestError, StoreRefused, StoreUnavailable, ingest
from ops.models import Sensor
from ops.outbound import OutboundError, OutboundRefused, guarded_session

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
MAX_BODY_BYTES = 5 * 1024 * 1024


class ScrapeError(Exception):
    pass


def _failure(exc: requests.RequestException) -> str:
    """What went wrong, in words that never include response bytes."""
    name = type(exc).__name__
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NameResolutionError):
        return f"{name}: the host name does not resolve"
    if isinstance(reason, NewConnectionError):
        cause = reason.__cause__
        why = getattr(cause, "strerror", None) or type(cause).__name__
        return f"{name}: cannot connect ({why})"
    if isinstance(exc, requests.Timeout):
        return f"{name}: no answer within the time limit"
    return f"{name} while reading the answer"


def fetch(url: str) -> str:
    try:
        with (
            guarded_session("scrape") as session,
            session.get(
                url,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                stream=True,
                headers={"Accept": "text/plain;version=0.0.4"},
            ) as response,
        ):
            if response.status_code != 200:
                raise ScrapeError(f"HTTP {response.status_code} from {url}")
            body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
    except OutboundRefused as exc:
        raise ScrapeError(f"refused: {exc}") from None
    except OutboundError as exc:
        raise ScrapeError(f"{url} {exc}") from None
    except requests.RequestException as exc:
        raise ScrapeError(_failure(exc)) from None
    except urllib3.exceptions.HTTPError as exc:  # while streaming the body (broken chunks...)
        raise ScrapeError(f"{type(exc).__name__} while reading the answer") from None
    if len(body) > MAX_BODY_BYTES:
        raise ScrapeError(f"response is larger than {MAX_BODY_BYTES} bytes")
    return body.decode("utf-8", errors="replace")


def parse(text: str, name: str) -> list[dict]:
    """The finite samples named ``name`` as ingest dicts (labels, value, ts when given)."""
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError:  # its message quotes the offending line: not shown
        raise ScrapeError("the answer is not Prometheus text format") from None
    samples = []
    for family in families:
        for sample in family.samples:
            if sample.name != name or not math.isfinite(sample.value):
                continue
            entry = {"name": name, "value": float(sample.value), "labels": dict(sample.labels)}
            if sample.timestamp is not None:
                entry["ts"] = float(sample.timestamp)
            samples.append(entry)
    return samples


def scrape_sensor(sensor: Sensor, now: datetime | None = None) -> int:
    """Scrape one sensor; returns the number of samples stored (0 on failure, error recorded)."""
    now = now or timezone.now()
    try:
        samples = parse(fetch(sensor.scrape_url), sensor.name)
        if not samples:
            raise ScrapeError(f"no sample named {sensor.name!r} at {sensor.scrape_url}")
        for sample in samples:
            sample["labels"] = {**sensor.labels, **sample["labels"]}
        stored = ingest({"samples": samples}, default_service=sensor.service_id, now=now)
    except (ScrapeError, IngestError, StoreRefused, StoreUnavailable) as exc:
        # A metrics store that is down or refuses the samples is this scrape's error too
        # (recorded on the sensor; the next scrape reads fresh values).
        message = str(exc) if isinstance(exc, ScrapeError) else f"refused samples: {exc}"
        if isinstance(exc, StoreUnavailable | StoreRefused):
            message = f"metrics store: {exc}"
        Sensor.objects.filter(pk=sensor.pk).update(
            last_scrape_at=now, last_error=message[:2000], last_error_at=now
        )
        return 0
    Sensor.objects.filter(pk=sensor.pk).update(
        last_scrape_at=now, last_success_at=now, last_sample_count=stored
    )
    return stored


def _claim(sensor: Sensor, now: datetime) -> bool:
    """Only one run scrapes a sensor per half interval (duplicate deliveries, overlapping runs)."""
    recent = now - timedelta(seconds=settings.HMS_SCRAPE_SECONDS / 2)
    return bool(
        Sensor.objects.filter(pk=sensor.pk)
        .filter(Q(last_scrape_at__isnull=True) | Q(last_scrape_at__lt=recent))
        .update(last_scrape_at=now)
    )


def scrape_all() -> dict[str, int]:
    """Scrape every sensor with a URL; ``{"scraped": n, "failed": m, "samples": k}``.

    A sensor scraped less than half an interval ago (by this or another run) is skipped.
    """
    result = {"scraped": 0, "failed": 0, "samples": 0}
    for sensor in Sensor.objects.exclude(scrape_url="").order_by("pk"):
        if not _claim(sensor, timezone.now()):
            continue
        try:
            stored = scrape_sensor(sensor)
        except Exception:  # one broken sensor must not stop the others
            log.exception("scrape of sensor %s failed", sensor.pk)
            Sensor.objects.filter(pk=sensor.pk).update(
                last_scrape_at=timezone.now(),
                last_error="internal error while scraping (see worker log)",
                last_error_at=timezone.now(),
            )
            stored = 0
        result["scraped" if stored else "failed"] += 1
        result["samples"] += stored
    return result
