"""Probe registry; importing this package registers every available kind.

``metric`` (an aggregate of OPS samples) is a valid ``probe_kind`` but has no
class yet: until one is registered, saving such a baseline is refused with
"probe kind 'metric' is not available yet" and a run records an error. Adding
it is one module here with ``@register class MetricProbe(Probe): kind = ProbeKind.METRIC``
(``check`` parses the query, ``measure`` calls ``ops.metrics.aggregate``), imported below.
"""

from apm.probes import promql, sql  # noqa: F401  (registers the probes)
from apm.probes.base import (
    PROBES,
    Probe,
    ProbeError,
    ProbeKind,
    ProbeUnavailable,
    Reading,
    Verification,
    probe_for,
    register,
)

__all__ = [
    "PROBES",
    "Probe",
    "ProbeError",
    "ProbeKind",
    "ProbeUnavailable",
    "Reading",
    "Verification",
    "probe_for",
    "register",
]
