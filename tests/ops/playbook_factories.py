"""Plain helpers for the playbook tests: a cluster, Slack, a tsa_ops channel, waiting on peers."""

from contextlib import contextmanager

from ops.models import ActionRun, Incident
from tests.ops.vault_factories import make_channel
from tests.support.kube import FakeKubernetes
from tests.support.slack import TOKEN, FakeSlack

DEPLOYMENT = "dca-luggage-scanner"  # the default: the service id as a Kubernetes name


@contextmanager
def cluster_and_slack(settings, replicas=3):
    with FakeKubernetes() as kube, FakeSlack() as slack:
        settings.KUBE_API_URL = kube.url
        settings.KUBE_TOKEN = "test-token"
        settings.KUBE_DRY_RUN = False
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = slack.api_url
        kube.add_deployment(DEPLOYMENT, replicas=replicas, images=("scan:1", "scan:2"))
        yield kube, slack


def tsa_ops():
    return make_channel("tsa_ops", "slack", "#tsa_ops")


def patches(kube):
    return [r for r in kube.requests if r.method == "PATCH"]


def runs(incident: Incident):
    return list(ActionRun.objects.filter(incident=incident).order_by("step", "position"))
