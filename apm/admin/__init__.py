"""APM admin, one module per part (as ``ops/admin/``).

``base`` holds ``ScopedAdmin`` (scoping and audited saves); ``baselines`` the
programs, baselines ("Run now") and deviations; ``escalations`` the
escalations (with ``reminders``' follow-up page mixed in), routes, policies and
tickets; ``explanations`` the explanations of missed quarters. The modules
import ``base``, never each other.
"""

from apm.admin import baselines, escalations, explanations  # noqa: F401  (registers the admins)
