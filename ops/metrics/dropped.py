"""Samples a client dropped before sending (its buffer was full), as it reports them.

The OPS SDK sends ``X-HMS-Dropped: <service>=<count>, ...`` with a batch (a bare
``<count>`` is the ingest key's own service). ``parse`` checks the header before the
batch is stored (a 400 naming the header, a 403 for another service than the key's);
``record`` adds the counts to ``Service.sdk_dropped_samples`` in the batch's own
transaction, so a count is added once, exactly when its batch is accepted.
``/metrics`` shows them as ``hms_sdk_dropped_samples_total{service=...}``.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import F

from ops.metrics.ingest import ingest
from ops.metrics.validation import IngestError, IngestForbidden
from ops.models import Service

HEADER = "X-HMS-Dropped"
META_KEY = "HTTP_X_HMS_DROPPED"
MAX_ITEMS = 100
MAX_COUNT = 10**12
_ITEM = re.compile(r"\s*(?:([A-Za-z][A-Za-z0-9_.-]{0,99})\s*=\s*)?([0-9]{1,13})\s*")


def _refuse(message: str):
    raise IngestError({HEADER: [message]})


def parse(raw: str | None, *, restrict_service: str | None) -> dict[str, int]:
    """``{service: count}`` from the header (empty when absent); ``IngestError`` naming the
    header when it is malformed or names an unknown service, ``IngestForbidden`` when an
    ingest key reports another service than its own."""
    if raw is None or not raw.strip():
        return {}
    items = raw.split(",")
    if len(items) > MAX_ITEMS:
        _refuse(f"at most {MAX_ITEMS} services per request")
    counts: dict[str, int] = {}
    for item in items:
        match = _ITEM.fullmatch(item)
        if match is None:
            _refuse(f"{item.strip()[:60]!r}: give <service>=<count>, comma-separated")
        service, count = match.group(1) or restrict_service, int(match.group(2))
        if service is None:
            _refuse("a bare count needs an ingest key: name the service (<service>=<count>)")
        if count > MAX_COUNT:
            _refuse(f"{count} is more than {MAX_COUNT}")
        if restrict_service is not None and service != restrict_service:
            raise IngestForbidden(
                f"{HEADER}: this ingest key may only report service {restrict_service!r}"
            )
        counts[service] = counts.get(service, 0) + count
    unknown = set(counts) - set(Service.objects.filter(pk__in=counts).values_list("pk", flat=True))
    if unknown:
        _refuse(f"unknown service {sorted(unknown)[0]!r}")
    return {service: n for service, n in counts.items() if n}


def record(counts: dict[str, int]) -> None:
    """Add each count to its service (one UPDATE per service reported)."""
    for service, n in sorted(counts.items()):
        Service.objects.filter(pk=service).update(sdk_dropped_samples=F("sdk_dropped_samples") + n)


def ingest_reporting_drops(payload, header: str | None, *, service_id: str | None) -> int:
    """``ingest`` the batch and add the drops its header reports, in one transaction.

    ``service_id`` is the ingest key's service (it fills and restricts the samples and
    the drops), None for a user token. Returns the number of samples stored.
    """
    drops = parse(header, restrict_service=service_id)
    if not drops:
        # The usual batch: the store's write is its own transaction (all-or-nothing) and
        # needs no savepoint inside an outer one (two round trips a request fewer).
        return ingest(payload, default_service=service_id, restrict_service=service_id)
    with transaction.atomic():
        accepted = ingest(payload, default_service=service_id, restrict_service=service_id)
        record(drops)
    return accepted
