"""OPS admin, one module per part."""

from ops.admin import heartbeat  # noqa: F401
from ops.admin import audit, notifications  # noqa: F401
