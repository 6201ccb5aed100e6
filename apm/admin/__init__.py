"""APM admin, one module per part (as ``ops/admin/``).

``base`` holds ``ScopedAdmin`` (scoping and audited saves); ``baselines`` the
programs, baselines ("Run now") and deviations; ``escalations`` the
escalations, routes, policies and tickets (with ``reminders``' follow-up page
mixed in). The modules import ``base``, never each other.
"""

from apm.admin import baselines, escalations  # noqa: F401  (registers the model admins)
