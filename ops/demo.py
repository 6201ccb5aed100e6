"""Demo data for ``manage.py hms_demo``: idempotent, returns what it loaded.

Registers the seed's ``scanner.ops.yaml`` and a second service using the seed's
section-8 playbook rows, the ``tsa_ops`` and ``CIGIE`` channels their playbooks
page, and gives each SLO five minutes of readings (only when the metric has none
yet, so a second run changes nothing). On the embedded default ``KUBE_DRY_RUN``
is on, so the scanner's breach runs its playbook recording the exact Kubernetes
request instead of sending it.

The seed's scanner YAML scrapes ``http://scanner.local/metrics``; the demo runs
no scanner there, so it registers the file with that line commented out (the
demo pushes the readings instead) rather than failing a scrape every 15 s.
Once loaded, the SLOs are evaluated as beat would, so the scanner's breach
opens its incident and plans its playbook at once (the worker runs the steps).
"""

import random
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ops import demo_history
from ops.channels.services import save_channel
from ops.metrics import ingest
from ops.metrics.store import WindowQuery, get_store
from ops.models import Channel
from ops.services import register_service
from ops.slo import evaluate_all

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_FILES = ("scanner.ops.yaml", "benefits-portal.ops.yaml")
# (low, high) of the demo readings per SLO target: the scanner is slow (breached), the portal fine.
READINGS = {"queue_time_seconds": (12.0, 38.0), "request_latency_seconds": (0.1, 0.6)}
STEP_SECONDS = 10
# Sensors scraping a host the demo does not run, as (file, line): commented out on registration.
UNSCRAPED = {
    "scanner.ops.yaml": "    scrape_url: http://scanner.local/metrics\n",
}
# The channels the demo playbooks page: e-mail, printed by the console backend by default.
CHANNELS = {
    "tsa_ops": ("email", "tsa-ops@localhost", "TSA operations on call (scanner playbook)"),
    "CIGIE": ("email", "cigie@localhost", "Inspectors general (portal security events)"),
}


def _channels() -> list[str]:
    loaded = []
    for name, (kind, target, description) in CHANNELS.items():
        if Channel.objects.filter(name=name).exists():
            continue
        save_channel(
            Channel(name=name, kind=kind, target=target, description=description), actor="hms_demo"
        )
        loaded.append(f"channel {name} ({kind} {target})")
    return loaded


def demo_document(name: str) -> str:
    """The fixture's text as the demo registers it (see ``UNSCRAPED``)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    line = UNSCRAPED.get(name)
    if line is None:
        return text
    if line not in text:
        raise ValueError(f"{name} no longer holds {line.strip()!r}: update ops.demo.UNSCRAPED")
    comment = f"    # {line.strip()}  (not in the demo: nothing runs there; readings are pushed)\n"
    return text.replace(line, comment)


def _has_readings(service: str, metric: str, now) -> bool:
    """Any reading kept (within the retention) or up to the clock skew ahead."""
    window = settings.HMS_METRIC_RETENTION_DAYS * 86400 + 600
    query = WindowQuery(service, metric, window, now + timedelta(minutes=10), "count")
    return get_store().window_stats([query])[0].samples > 0


def load() -> list[str]:
    loaded = _channels()
    now = timezone.now()
    read = False
    for name in DEMO_FILES:
        registration = register_service(demo_document(name), actor="hms_demo")
        service = registration.service
        if registration.changed:
            loaded.append(f"service {service.id} (version {service.version}) from {name}")
        for slo in service.slos.all():
            if slo.target not in READINGS:
                continue
            if _has_readings(service.id, slo.target, now):
                continue
            low, high = READINGS[slo.target]
            rng = random.Random(service.id)  # noqa: S311 - same demo readings on every machine
            samples = [
                {
                    "name": slo.target,
                    "value": round(rng.uniform(low, high), 3),
                    "ts": (now - timedelta(seconds=offset)).isoformat(),
                }
                for offset in range(0, slo.window_seconds, STEP_SECONDS)
            ]
            count = ingest({"samples": samples}, default_service=service.id, now=now)
            loaded.append(f"{count} readings of {service.id}/{slo.target}")
            read = True
    if read:
        changes = evaluate_all(now).changes
        loaded += [f"SLO {c.slo.service_id}/{c.slo.target}: {c.to_state}" for c in changes]
    return loaded + _feed_task()


def _feed_task() -> list[str]:
    """Beat's periodic task that keeps the demo services reporting (``demo_history.feed``)."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=demo_history.LIVE_STEP_SECONDS, period=IntervalSchedule.SECONDS
    )
    _, created = PeriodicTask.objects.get_or_create(
        name=demo_history.FEED_TASK,
        defaults={
            "interval": every,
            "task": "ops.tasks.demo_readings",
            "expires": None,
            "description": "Demo only: readings of the demo services (ops/demo_history.py). "
            "Disable it to watch the SLOs go to no data.",
        },
    )
    return [f"periodic task {demo_history.FEED_TASK!r}: created"] if created else []
