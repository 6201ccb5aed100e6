"""Probe registry; importing this package registers every kind.

Adding a kind is one module here with ``@register class XProbe(Probe)``, imported below.
"""

from apm.probes import metric, promql, sql  # noqa: F401  (registers the probes)
from apm.probes.base import (
    PROBES,
    Probe,
    ProbeError,
    ProbeKind,
    ProbeUnavailable,
    Reading,
    Verification,
    Window,
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
    "Window",
    "probe_for",
    "register",
]
