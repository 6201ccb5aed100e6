"""The demo's data sources and their sign-offs: one of each state the pages flag.

Each demo promise gets a description of where its numbers come from. The demo's
data officer (a user who cannot log in, in the program staff group) signs the
housing and portal sources off weeks ago, and the scanner's source more than
``HMS_VALIDATION_MAX_AGE_DAYS`` ago (so the pages say it is out of date); the
monitor's own promises stay unsigned (so the pages say so). All through
``apm.signoff.renew``: audited like any staff sign-off.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from apm import config_audit, signoff
from apm.models import Baseline

OFFICER = "demo_data_office"
DATA_SOURCES = {
    "avg_wait_days": "Housing case system: the decisions table's reporting copy, "
    "refreshed nightly by the Housing data office",
    "scanner_queue_p95_seconds": "Checkpoint scanner sensors, sent to HMS Monitor by the "
    "TSA checkpoint SDK every few seconds",
    "portal_latency_p99_seconds": "SSA portal request timings, sent by the portal's HMS SDK",
    "watchdog_failure_rate_pct": "HMS Monitor's own ledger of watchdog evaluations",
    "verified_probes_pct": "HMS Monitor's own probe table (verified at save)",
}
# days since each sign-off (None: never signed off)
SIGNED_DAYS_AGO = {
    "avg_wait_days": 40,
    "portal_latency_p99_seconds": 12,
    "scanner_queue_p95_seconds": 400,
}


def load(baselines: list[Baseline], staff: Group, actor: str) -> list[str]:
    """Describe and sign off the just-created demo ``baselines``."""
    if not baselines:
        return []
    users = get_user_model().objects
    officer, _ = users.get_or_create(username=OFFICER, defaults={"is_staff": True})
    if officer.has_usable_password():
        officer.set_unusable_password()
        officer.save()
    officer.groups.add(staff)
    now = timezone.now()
    lines = []
    for baseline in baselines:
        baseline.data_source = DATA_SOURCES.get(baseline.name, "")
        config_audit.save(baseline, actor=actor)
        days = SIGNED_DAYS_AGO.get(baseline.name)
        if days is not None:
            signoff.renew(baseline, actor=officer, at=now - timedelta(days=days))
            lines.append(f"sign-off {baseline.name}: {days} days ago by {OFFICER}")
    return lines
