"""OPS models, one module per part; import them here so Django finds them."""

from ops.models.heartbeat import WorkerHeartbeat
from ops.models.metrics import Sample, Series
from ops.models.service import SLO, IngestKey, Sensor, Service, ServiceVersion, SLOStateChange

__all__ = [
    "SLO",
    "IngestKey",
    "SLOStateChange",
    "Sample",
    "Sensor",
    "Series",
    "Service",
    "ServiceVersion",
    "WorkerHeartbeat",
]
