"""The APM SDK: the seed's ``Baseline.create``, ``Watchdog.compare``, ``Watchdog.run_once``
and ``Escalate.send``.

Only ``requests`` (through ``hms_sdk.Client``): importable without Django.
The server and token come from ``HMS_URL`` / ``HMS_TOKEN`` or ``hms_apm.configure(url, token)``;
every call also takes ``client=`` for a specific ``hms_sdk.Client``.

    from hms_apm import Baseline, Watchdog

    wait_time = Baseline.create(
        program="fast-track-housing", name="avg_wait_days", target_value=30, compare_op="le",
        probe_query="rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])",
    )

    @Watchdog.schedule(cron="0 2 * * *")   # the baseline's server-side schedule: 02:00 UTC
    def check_housing_wait():
        score = Watchdog.compare(baseline_id=wait_time.id)   # deviation in %, positive = worse
        print("Deviation:", score)

    Watchdog.serve()   # optional: also call the function itself at its cron times (blocks)

A query the server refuses (e.g. invalid PromQL) raises ``HmsApiError`` whose
``body`` names the field and carries Prometheus's message. The server runs every
baseline on its own ``schedule`` (django-celery-beat) and escalates a red one by
itself; ``Watchdog.schedule`` sets that schedule (on the baseline just created, or
``baseline_id=``), so a script needs no loop of its own. ``HmsAct.open_ticket``
puts a ticket on management's desk.
"""

from __future__ import annotations

from hms_apm.act import HmsAct
from hms_apm.baselines import Baseline, Program
from hms_apm.escalate import Escalate
from hms_apm.schedule import CronError
from hms_apm.watchdog import Watchdog
from hms_sdk import Client, HmsApiError, configure

__all__ = [
    "Baseline",
    "Client",
    "CronError",
    "Escalate",
    "HmsAct",
    "HmsApiError",
    "Program",
    "Watchdog",
    "configure",
]
