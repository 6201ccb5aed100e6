"""What the emitter sends: a batch as JSON text, its gzipped body and its headers.

A batch is ``{"samples": [{"service", "name", "labels"?, "value", "ts"}, ...]}``. The
part of a sample that repeats (service, name, labels) is encoded once per series and
kept; value and time are written with ``repr`` (the shortest text that reads back as
the same float, valid JSON for a finite number), so encoding a sample is one string
join, not a ``json.dumps`` of a dict.
"""

from __future__ import annotations

import json
import math
import zlib

from ops_sdk import drops as drop_counts

MAX_SERIES_CACHED = 10_000
GZIP_LEVEL = 1  # fast: JSON samples shrink about 8x at level 1 already


class Encoder:
    """Encodes emitter tuples ``(service, name, value, ts, labels)`` as a batch body."""

    def __init__(self):
        self._prefixes: dict[tuple, str] = {}

    def _prefix(self, service, name, labels) -> str:
        key = (service, name, tuple(sorted(labels.items())) if labels else None)
        prefix = self._prefixes.get(key)
        if prefix is None:
            head = {"service": service} if service else {}
            head["name"] = name
            if labels:
                head["labels"] = labels
            prefix = json.dumps(head, separators=(",", ":"))[:-1] + ',"value":'
            if len(self._prefixes) >= MAX_SERIES_CACHED:
                self._prefixes.clear()
            self._prefixes[key] = prefix
        return prefix

    def sample(self, service, name, value, ts, labels) -> str:
        return f'{self._prefix(service, name, labels)}{_number(value)},"ts":{_number(ts)}}}'

    def batch(self, samples: list) -> bytes:
        """``{"samples": [...]}`` as UTF-8. The loop is the hot path of the sender: a float
        that is finite (``x - x == 0``) is written with ``repr`` directly, and the prefix
        of an unlabelled series is looked up by ``(service, name)``."""
        plain: dict[tuple, str] = {}
        parts = []
        append = parts.append
        for service, name, value, ts, labels in samples:
            if labels:
                prefix = self._prefix(service, name, labels)
            else:
                prefix = plain.get((service, name))
                if prefix is None:
                    prefix = plain[(service, name)] = self._prefix(service, name, None)
            if type(value) is float and type(ts) is float and value - value == 0 == ts - ts:
                append(f'{prefix}{value!r},"ts":{ts!r}}}')
            else:
                append(f'{prefix}{_number(value)},"ts":{_number(ts)}}}')
        return ('{"samples":[' + ",".join(parts) + "]}").encode("utf-8")


def _number(value) -> str:
    """A finite number as JSON (shortest float text); anything else through ``json.dumps``
    (an ISO-8601 ``ts``; NaN, which the server then names as the bad field)."""
    if (type(value) is float or type(value) is int) and math.isfinite(value):
        return repr(float(value))
    return json.dumps(value)


def body(encoder: Encoder, batch: list, *, compress: bool) -> bytes:
    """The request body of ``batch``: JSON, gzipped when ``compress``."""
    data = encoder.batch(batch)
    if compress:
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data = packer.compress(data) + packer.flush()
    return data


def headers(ingest_key: str | None, *, compress: bool, drops: dict) -> dict:
    """The request headers: the ingest key, the encoding, and drops not yet reported."""
    result = {"Content-Type": "application/json"}
    if ingest_key:
        result["Authorization"] = f"Bearer {ingest_key}"
    if compress:
        result["Content-Encoding"] = "gzip"
    if drops:
        result[drop_counts.HEADER] = drop_counts.header_value(drops)
    return result
