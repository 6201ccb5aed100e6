"""Rate limiting for ``POST baselines/{id}/run/``: per user, ``HMS_RUN_RATE`` (e.g. ``60/min``).

A single run probes inside the request (bounded by the probe's timeout, see
``apm.probes``), so one user cannot hold the web server's threads with runs;
runs of several baselines go to the worker instead (``apm.services.queue_runs``).
"""

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle


class RunRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (scope ``baseline-run``), its rate read at request time."""

    scope_attr = "throttle_scope"

    def get_rate(self):
        return settings.HMS_RUN_RATE
