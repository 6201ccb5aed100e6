"""OPS admin, one module per part."""

from ops.admin import heartbeat, metrics, services  # noqa: F401
