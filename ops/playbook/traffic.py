"""``throttle`` and ``isolate`` through the Kubernetes API (the ``kubernetes`` client, no kubectl).

throttle traffic N%
    Lowers the request rate the service's Ingress admits by N percent:
    ``PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{ingress}``
    setting the ingress-nginx annotation ``nginx.ingress.kubernetes.io/limit-rps``
    to ``floor(current * (100 - N) / 100)`` (at least 1) and recording the value
    before in ``hms.ops/throttled-from``. The Ingress must already carry a
    ``limit-rps`` annotation (the rate to throttle from); without one the run
    fails permanently with that reason. ``hms.ops/throttled-by: incident-<id>``
    makes a retried run a no-op.

isolate pod
    Takes one pod out of service and cuts its network:
    1. ``PATCH /api/v1/namespaces/{ns}/pods/{pod}`` removing the deployment's
       selector labels (so its Service and ReplicaSet no longer select it; the
       ReplicaSet starts a replacement) and adding ``hms.ops/isolated: <pod>``;
    2. ``POST /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies``
       creating ``hms-isolate-<pod>``: podSelector ``hms.ops/isolated: <pod>``,
       policyTypes Ingress and Egress with no rules (deny all). An existing
       policy of that name (409) counts as done.
    The pod is the one named in the event that opened the incident (``pod``),
    else the action's ``name=``; with neither the run fails permanently.
"""

from __future__ import annotations

import math

from django.conf import settings
from kubernetes import client as k8s

from ops.kube import KubeCall, KubeError, Target, _api_client, _call

LIMIT_RPS = "nginx.ingress.kubernetes.io/limit-rps"
THROTTLED_FROM = "hms.ops/throttled-from"
THROTTLED_BY = "hms.ops/throttled-by"
ISOLATED = "hms.ops/isolated"


def _ingress_path(namespace: str, name: str) -> str:
    return f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}"


def throttle(target: Target, ingress: str, percent: float, *, marker: str) -> KubeCall:
    """``marker`` (e.g. ``incident-7``) is written too: a retry after a patch that
    went through but was not recorded sees it and does not throttle twice."""
    path = _ingress_path(target.namespace, ingress)
    if settings.KUBE_DRY_RUN:
        body = {"metadata": {"annotations": {LIMIT_RPS: f"current*{(100 - percent) / 100:g}"}}}
        return KubeCall("PATCH", path, body, dry_run=True)
    networking = k8s.NetworkingV1Api(_api_client(target.cluster))
    current = _call(networking.read_namespaced_ingress, ingress, target.namespace)
    annotations = current.metadata.annotations or {}
    if annotations.get(THROTTLED_BY) == marker:
        return KubeCall("PATCH", path, None, result={"unchanged": True, "marker": marker})
    try:
        rate = int(annotations[LIMIT_RPS])
    except (KeyError, ValueError):
        raise KubeError(
            f"ingress {ingress} has no numeric {LIMIT_RPS} annotation to throttle from",
            permanent=True,
        ) from None
    wanted = max(1, math.floor(rate * (100 - percent) / 100))
    body = {
        "metadata": {
            "annotations": {LIMIT_RPS: str(wanted), THROTTLED_FROM: str(rate), THROTTLED_BY: marker}
        }
    }
    _call(networking.patch_namespaced_ingress, ingress, target.namespace, body)
    return KubeCall("PATCH", path, body, result={"from_rps": rate, "to_rps": wanted})


def _deny_all(namespace: str, pod: str) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"hms-isolate-{pod}"[:253], "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {ISOLATED: pod}},
            "policyTypes": ["Ingress", "Egress"],
        },
    }


def isolate(target: Target, pod: str) -> list[KubeCall]:
    pod_path = f"/api/v1/namespaces/{target.namespace}/pods/{pod}"
    policy_path = f"/apis/networking.k8s.io/v1/namespaces/{target.namespace}/networkpolicies"
    policy = _deny_all(target.namespace, pod)
    if settings.KUBE_DRY_RUN:
        relabel = {"metadata": {"labels": {ISOLATED: pod, "<selector labels>": None}}}
        return [
            KubeCall("PATCH", pod_path, relabel, dry_run=True),
            KubeCall("POST", policy_path, policy, dry_run=True),
        ]
    api_client = _api_client(target.cluster)
    apps, core = k8s.AppsV1Api(api_client), k8s.CoreV1Api(api_client)
    deployment = _call(apps.read_namespaced_deployment, target.deployment, target.namespace)
    selector = deployment.spec.selector.match_labels or {}
    relabel = {"metadata": {"labels": {ISOLATED: pod, **dict.fromkeys(selector)}}}
    _call(core.patch_namespaced_pod, pod, target.namespace, relabel)
    networking = k8s.NetworkingV1Api(api_client)
    try:
        _call(networking.create_namespaced_network_policy, target.namespace, policy)
        created = True
    except KubeError as exc:
        if exc.status != 409:
            raise
        created = False
    return [
        KubeCall("PATCH", pod_path, relabel, result={"removed_labels": sorted(selector)}),
        KubeCall("POST", policy_path, policy, result={"created": created}),
    ]
