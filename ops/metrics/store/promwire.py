"""Prometheus remote write, version 0.1.0: a ``WriteRequest`` as snappy-compressed protobuf.

The message types are Prometheus' own (``prompb/remote.proto`` and ``types.proto``,
the fields remote write 0.1.0 uses), declared here as a descriptor so that no
generated code is vendored. ``promencode`` writes the few fields remote write uses by
hand (the protobuf package decodes them: ``decode``, and the tests check the two
agree); ``cramjam`` compresses with snappy's block format, which is what
``Content-Encoding: snappy`` means there.

Names follow Prometheus' rules: a metric name matches ``[a-zA-Z_:][a-zA-Z0-9_:]*``,
a label name ``[a-zA-Z_][a-zA-Z0-9_]*`` and names starting ``__`` are reserved.
``metric_name`` maps any other character to ``_`` (and prefixes ``_`` to a leading
digit); the ``.ops.yaml`` schema already holds sensor names to the metric-name
rule, so for a declared sensor it is the identity. Label names are not rewritten:
``label_problem`` says why one cannot be sent, and ingest refuses the sample.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from ops.metrics.store import promencode

CONTENT_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "hms-monitor",
}
SERVICE_LABEL = "service"
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_:]")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def metric_name(name: str) -> str:
    """``name`` made a valid Prometheus metric name (identity for a valid one)."""
    clean = _NAME_BAD.sub("_", name)
    return f"_{clean}" if not clean or clean[0].isdigit() else clean


def label_problem(name: str) -> str | None:
    """Why ``name`` cannot be a sample label on Prometheus, or None when it can."""
    if not _LABEL_NAME.fullmatch(name):
        return f"label {name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
    if name.startswith("__"):
        return f"label {name!r}: names starting with '__' are reserved by Prometheus"
    if name == SERVICE_LABEL:
        return f"label {name!r} is reserved: the store sets it to the service id"
    return None


def _descriptor() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="hms_prometheus_remote.proto", package="prometheus", syntax="proto3"
    )

    def message(name, *fields):
        msg = file.message_type.add(name=name)
        for number, (field_name, kind, label, type_name) in enumerate(fields, start=1):
            field = msg.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name

    one, many = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    message("Label", ("name", f.TYPE_STRING, one, ""), ("value", f.TYPE_STRING, one, ""))
    message("Sample", ("value", f.TYPE_DOUBLE, one, ""), ("timestamp", f.TYPE_INT64, one, ""))
    message(
        "TimeSeries",
        ("labels", f.TYPE_MESSAGE, many, ".prometheus.Label"),
        ("samples", f.TYPE_MESSAGE, many, ".prometheus.Sample"),
    )
    message("WriteRequest", ("timeseries", f.TYPE_MESSAGE, many, ".prometheus.TimeSeries"))
    return file


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_descriptor())
WriteRequest = message_factory.GetMessageClass(
    _pool.FindMessageTypeByName("prometheus.WriteRequest")
)


def series_labels(service: str, name: str, labels: dict) -> tuple[tuple[str, str], ...]:
    """The label set of one series, sorted by name as remote write requires."""
    pairs = {**labels, "__name__": metric_name(name), SERVICE_LABEL: service}
    return tuple(sorted(pairs.items()))


def encode(series: dict[tuple, list[tuple[int, float]]]) -> bytes:
    """``{label set: [(timestamp ms, value), ...]}`` -> the snappy-compressed request body.

    Each series' samples are sent in time order (Prometheus drops a sample that is
    not newer than the last one of its series in the same request).
    """
    columns = []
    for labels, points in series.items():
        ms, values = zip(*points, strict=True) if points else ((), ())
        if list(ms) != sorted(ms):  # (already in order: no tuple comparisons)
            ms, values = zip(*sorted(points), strict=True)
        columns.append((labels, ms, values))
    return encode_columns(columns)


def encode_columns(series: Iterable[tuple[tuple, Sequence[int], Sequence[float]]]) -> bytes:
    """``[(label set, timestamps ms, values), ...]``, each series' timestamps in the order
    to send (ascending) -> the snappy-compressed body; ``promencode`` writes the bytes."""
    body = b"".join(promencode.timeseries(labels, ms, values) for labels, ms, values in series)
    return bytes(cramjam.snappy.compress_raw(body))


def decode(body: bytes) -> dict[tuple, list[tuple[int, float]]]:
    """The inverse of ``encode`` (for tests and for a receiver's view of what was sent)."""
    request = WriteRequest()
    request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    return {
        tuple((label.name, label.value) for label in ts.labels): [
            (s.timestamp, s.value) for s in ts.samples
        ]
        for ts in request.timeseries
    }
