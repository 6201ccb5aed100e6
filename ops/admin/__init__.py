"""OPS admin, one module per part."""

import ops.admin.audit
import ops.admin.incidents
import ops.admin.notifications
import ops.admin.schedules  # noqa: F401
from ops.admin import heartbeat, metrics, services  # noqa: F401
