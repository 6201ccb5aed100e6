"""APM admin, one module per part (as ``ops/admin/``).

``base`` holds ``ScopedAdmin`` (scoping and audited saves) and
``ReadOnlyScopedAdmin``; ``baselines`` the programs, baselines ("Run now") and
deviations; ``escalations`` the escalations (acknowledge, resolve, snooze with a
comment); ``policies`` the routes, escalation policies and tickets;
``explanations`` the explanations of missed quarters; ``maintenance`` the
maintenance windows (saved through ``apm.maintenance``). The modules import
``base``, never each other.
"""

from apm.admin import baselines, escalations, explanations, maintenance, policies  # noqa: F401
