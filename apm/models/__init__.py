"""APM models, one module per part; import them here so Django finds them."""

from apm.models.baseline import Baseline
from apm.models.deviation import Deviation
from apm.models.escalation import Escalation, EscalationRoute
from apm.models.explanation import Explanation, ExplanationVersion
from apm.models.maintenance import MaintenanceWindow
from apm.models.policy import EscalationPolicy
from apm.models.program import Program
from apm.models.reminder import EscalationReminder
from apm.models.ticket import Ticket

__all__ = [
    "Baseline",
    "Deviation",
    "Escalation",
    "EscalationPolicy",
    "EscalationReminder",
    "EscalationRoute",
    "Explanation",
    "ExplanationVersion",
    "MaintenanceWindow",
    "Program",
    "Ticket",
]
