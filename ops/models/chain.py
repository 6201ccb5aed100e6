"""Canonical form and hash of an audit entry.

The hash must come out the same from the values written and from the values
read back from either database, so the canonical form does not trust a JSON
library's output: keys are sorted, strings are JSON-escaped, and every number
is written as its normalized decimal (``1``, ``1.0`` and a jsonb ``1`` all give
``1``; ``1e-07`` and PostgreSQL's ``0.0000001`` both give ``1E-7``).
"""

import hashlib
import json
import math
from datetime import UTC
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder


class PayloadError(ValueError):
    """The payload cannot be stored faithfully (NaN, infinity, non-JSON keys)."""


def normalize_payload(payload):
    """The payload as it will read back from the database (plain JSON types)."""
    try:
        return json.loads(json.dumps(payload, cls=DjangoJSONEncoder, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"audit payload is not JSON-serializable: {exc}") from exc


def canonical(value) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise PayloadError(f"audit payload holds a non-finite number: {value!r}")
        number = Decimal(repr(value) if isinstance(value, float) else value).normalize()
        return str(number)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise PayloadError("audit payload keys must be strings")
        items = sorted(value.items())
        return "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in items) + "}"
    raise PayloadError(f"audit payload holds a {type(value).__name__}, not a JSON value")


def iso(at) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def compute_hash(prev_hash: str, topic: str, at, actor: str, payload) -> str:
    text = canonical([prev_hash, topic, iso(at), actor, payload])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(entry) -> str:
    return compute_hash(entry.prev_hash, entry.topic, entry.at, entry.actor, entry.payload)
