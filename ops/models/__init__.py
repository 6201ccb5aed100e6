"""OPS models, one module per part; import them here so Django finds them."""

from ops.models.audit import AppendOnlyError, AuditChainHead, AuditEntry
from ops.models.channels import Channel
from ops.models.heartbeat import WorkerHeartbeat
from ops.models.notifications import Notification, NotificationAttempt

__all__ = [
    "AppendOnlyError",
    "AuditChainHead",
    "AuditEntry",
    "Channel",
    "Notification",
    "NotificationAttempt",
    "WorkerHeartbeat",
]
