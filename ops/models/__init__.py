"""OPS models, one module per part; import them here so Django finds them."""

from ops.models.audit import AppendOnlyError, AuditChainHead, AuditEntry
from ops.models.channels import Channel
from ops.models.heartbeat import WorkerHeartbeat
from ops.models.incident import ActionRun, Incident
from ops.models.metrics import Sample, Series
from ops.models.notifications import Notification, NotificationAttempt
from ops.models.oncall import ContactProfile, Schedule, ScheduleOverride, ScheduleParticipant
from ops.models.page_repeat import PageRepeat
from ops.models.service import SLO, IngestKey, Sensor, Service, ServiceVersion, SLOStateChange

__all__ = [
    "SLO",
    "ActionRun",
    "AppendOnlyError",
    "AuditChainHead",
    "AuditEntry",
    "Channel",
    "ContactProfile",
    "Incident",
    "IngestKey",
    "Notification",
    "NotificationAttempt",
    "PageRepeat",
    "SLOStateChange",
    "Sample",
    "Schedule",
    "ScheduleOverride",
    "ScheduleParticipant",
    "Sensor",
    "Series",
    "Service",
    "ServiceVersion",
    "WorkerHeartbeat",
]
