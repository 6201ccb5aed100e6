"""ops.kube against a loopback server speaking the real apps/v1 API, via the real client."""

import time

import pytest

from ops.kube import KubeError, Target, plan_rollback, read_replicas, rollback, scale_by
from tests.support.kube import FakeKubernetes


@pytest.fixture
def cluster(settings):
    with FakeKubernetes() as fake:
        settings.KUBE_API_URL = fake.url
        settings.KUBE_TOKEN = "test-token"
        settings.KUBE_DRY_RUN = False
        fake.add_deployment("scanner", namespace="dca", replicas=3, images=("scan:1", "scan:2"))
        yield fake


SCANNER = Target(deployment="scanner", namespace="dca")


def test_scale_by_is_relative_to_the_current_replicas(cluster):
    call = scale_by(SCANNER, +2)
    assert call.result == {"from": 3, "to": 5}
    assert cluster.replicas("scanner", "dca") == 5
    patch = cluster.requests[-1]
    assert patch.method == "PATCH"
    assert patch.path == "/apis/apps/v1/namespaces/dca/deployments/scanner/scale"
    assert patch.headers["content-type"] == "application/strategic-merge-patch+json"
    assert patch.headers["authorization"] == "Bearer test-token"
    assert patch.json() == {"spec": {"replicas": 5}}


def test_scale_by_is_capped_by_the_maximum(cluster):
    assert scale_by(SCANNER, +5, maximum=6).result == {"from": 3, "to": 6}
    assert scale_by(SCANNER, +2, maximum=6).result["unchanged"] is True
    assert cluster.replicas("scanner", "dca") == 6


@pytest.mark.parametrize("status,permanent", [(500, False), (409, False), (403, True), (404, True)])
def test_api_errors_say_whether_a_retry_can_help(cluster, status, permanent):
    cluster.fail_next(status)
    with pytest.raises(KubeError) as caught:
        scale_by(SCANNER, +2)
    assert caught.value.permanent is permanent
    assert caught.value.status == status
    assert cluster.replicas("scanner", "dca") == 3


def test_connection_refused_is_transient(settings):
    settings.KUBE_API_URL = "http://127.0.0.1:1"
    settings.KUBE_DRY_RUN = False
    with pytest.raises(KubeError) as caught:
        read_replicas(SCANNER)
    assert caught.value.permanent is False


def test_dry_run_sends_nothing_and_says_what_it_would_send(cluster, settings):
    settings.KUBE_DRY_RUN = True
    call = scale_by(SCANNER, +2)
    assert call.dry_run is True
    assert call.as_dict()["path"] == "/apis/apps/v1/namespaces/dca/deployments/scanner/scale"
    assert call.body == {"spec": {"replicas": "current+2"}}
    assert cluster.requests == []


def test_rollback_restores_the_previous_revisions_template(cluster):
    assert cluster.image("scanner", "dca") == "scan:2"
    call = rollback(SCANNER)
    assert call.result == {"from_revision": 2, "to_revision": 1, "to_hash": "h1"}
    assert cluster.image("scanner", "dca") == "scan:1"
    template_labels = cluster.requests[-1].json()["spec"]["template"]["metadata"]["labels"]
    assert "pod-template-hash" not in template_labels


def test_rollback_without_a_previous_revision_is_permanent(cluster):
    cluster.add_deployment("fresh", namespace="dca", images=("fresh:1",))
    with pytest.raises(KubeError, match="no previous revision") as caught:
        rollback(Target("fresh", "dca"))
    assert caught.value.permanent is True


def test_a_repeated_rollback_with_its_plan_restores_the_same_template(cluster):
    cluster.add_deployment("web", namespace="dca", images=("web:1", "web:2"))
    web = Target("web", "dca")
    # without a plan, a repeated rollback flips back: the restored ReplicaSet became
    # the newest revision, so "the previous one" is now web:2 again
    rollback(web)
    rollback(web)
    assert cluster.image("web", "dca") == "web:2"

    plan = plan_rollback(SCANNER)
    rollback(SCANNER, plan)
    rollback(SCANNER, plan)  # e.g. a new worker after the first died mid-PATCH
    assert cluster.image("scanner", "dca") == "scan:1"


def test_an_answer_later_than_the_timeout_is_a_transient_error(cluster, settings):
    settings.HMS_KUBE_TIMEOUT_SECONDS = 0.5
    cluster.hold_next("GET", 3)
    started = time.monotonic()
    with pytest.raises(KubeError) as caught:
        read_replicas(SCANNER)
    assert time.monotonic() - started < 2.5  # it gave up; it did not wait for the answer
    assert caught.value.permanent is False
    assert caught.value.status is None
    assert str(caught.value).startswith("Kubernetes did not answer within 0.5 s")
    assert read_replicas(SCANNER) == 3  # the next call is answered at once
