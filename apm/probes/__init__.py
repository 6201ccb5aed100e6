"""Probe registry; importing this package registers every available kind."""

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
