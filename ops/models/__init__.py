"""OPS models, one module per part; import them here so Django finds them."""

from ops.models.heartbeat import WorkerHeartbeat

__all__ = ["WorkerHeartbeat"]
