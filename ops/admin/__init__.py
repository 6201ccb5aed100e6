"""OPS admin, one module per part."""

from ops.admin import heartbeat  # noqa: F401
