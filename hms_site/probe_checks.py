"""Start-up check (``manage.py check``, which scripts/run.sh runs first): refuse to
start when ``HMS_SQL_PROBE_DATABASE_URL`` logs in as a superuser, the app's own role
or a member of a server-file/signal/all-stats role. The same check runs on every
probe connection; an unreachable probe database only warns (probes record errors)."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from hms_site.probe_database import VARIABLE


@register("hms")
def sql_probe_database(app_configs=None, **kwargs):
    if not getattr(settings, "HMS_SQL_PROBE_DATABASE", None):
        return []
    from apm.probes import ProbeError
    from apm.probes.base import UnsafeProbeDatabase
    from apm.probes.sql import engine

    try:
        engine().fetch("SELECT 1")
    except UnsafeProbeDatabase as exc:
        return [Error(str(exc), hint="docs/SQL_PROBES.md", id="hms.E101")]
    except ProbeError as exc:
        return [
            Warning(f"{VARIABLE}: SQL probes cannot run: {exc}", id="hms.W101"),
        ]
    return []
