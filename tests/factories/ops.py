"""OPS rows: services from YAML text, readings, channels, and the playbook's loopback peers."""

from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ops.metrics import ingest
from ops.models import ActionRun, Channel, Incident
from ops.services import register_service
from tests.support.kube import FakeKubernetes
from tests.support.slack import TOKEN, FakeSlack

SCANNER_YAML = (Path(settings.BASE_DIR) / "fixtures" / "scanner.ops.yaml").read_text()
DEPLOYMENT = "dca-luggage-scanner"  # the default: the service id as a Kubernetes name


def service_yaml(
    service_id: str = "DCA_Luggage_Scanner",
    *,
    owner: str = "TSA",
    threshold: float = 30,
    window_seconds: int = 300,
    metric: str = "queue_time_seconds",
    scrape_url: str | None = None,
    percentile: float | None = None,
    min_samples: int | None = 1,
) -> str:
    """A one-sensor definition. ``min_samples`` defaults to 1 here so a test about something
    else can decide an SLO on one reading; ``None`` leaves the key out (the default, 5)."""
    lines = [
        f"id: {service_id}",
        f"owner: {owner}",
        "sensors:",
        f"  - name: {metric}",
    ]
    if scrape_url:
        lines.append(f"    scrape_url: {scrape_url}")
    lines += [
        "slo:",
        f"  target: {metric}",
        f"  threshold: {threshold}",
        f"  window_seconds: {window_seconds}",
    ]
    if percentile is not None:
        lines.append(f"  percentile: {percentile}")
    if min_samples is not None:
        lines.append(f"  min_samples: {min_samples}")
    return "\n".join(lines) + "\n"


def make_service(service_id: str = "DCA_Luggage_Scanner", **kwargs):
    return register_service(service_yaml(service_id, **kwargs))


def readings(service_id: str, values, *, end=None, step: float = 1.0, name="queue_time_seconds"):
    """Store ``values`` one ``step`` apart, the last at ``end`` (default now)."""
    end = end or timezone.now()
    count = len(values)
    samples = [
        {
            "service": service_id,
            "name": name,
            "value": value,
            "ts": (end - timedelta(seconds=step * (count - 1 - i))).isoformat(),
        }
        for i, value in enumerate(values)
    ]
    return ingest({"samples": samples}, now=end)


def make_channel(name: str = "tsa_ops", kind: str = "slack", target: str = "#tsa_ops", **extra):
    channel = Channel(name=name, kind=kind, target=target, **extra)
    channel.full_clean()
    channel.save()
    return channel


def tsa_ops():
    return make_channel("tsa_ops", "slack", "#tsa_ops")


@contextmanager
def cluster_and_slack(settings, replicas=3):
    """The loopback Kubernetes API (with the scanner's deployment) and Slack, configured."""
    with FakeKubernetes() as kube, FakeSlack() as slack:
        settings.KUBE_API_URL = kube.url
        settings.KUBE_TOKEN = "test-token"
        settings.KUBE_DRY_RUN = False
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = slack.api_url
        kube.add_deployment(DEPLOYMENT, replicas=replicas, images=("scan:1", "scan:2"))
        yield kube, slack


def patches(kube):
    return [r for r in kube.requests if r.method == "PATCH"]


def runs(incident: Incident):
    return list(ActionRun.objects.filter(incident=incident).order_by("step", "position"))
