"""APM admin, one module per part (as ``ops/admin/``).

``base`` holds ``ScopedAdmin`` (scoping and audited saves),
``ReadOnlyScopedAdmin`` and the status badge; ``programs`` the programs and the
deviations ledger; ``baselines`` the baselines ("Run now", sign-off, backtest);
``escalations`` the escalations (acknowledge, resolve, snooze with a comment);
``policies`` the routes, escalation policies and tickets;
``explanations`` the explanations of missed quarters; ``maintenance`` the
maintenance windows (saved through ``apm.maintenance``). The modules import
``base``, never each other.
"""

from apm.admin import (  # noqa: F401
    baselines,
    escalations,
    explanations,
    maintenance,
    policies,
    programs,
)
