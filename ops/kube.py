"""Talking to Kubernetes through the official ``kubernetes`` client (never ``kubectl``).

Where the cluster is: ``KUBE_API_URL`` + ``KUBE_TOKEN`` when set; else the
kubeconfig context named by the service's ``cluster`` (or the current one);
else the in-cluster service account. With ``KUBE_DRY_RUN`` nothing is sent:
each call returns the exact request it would have made, and callers record it.

Every call returns a ``KubeCall`` (what was asked and what came back) or raises
``KubeError`` with ``permanent`` telling the caller whether retrying can help:
403/404/422 are permanent; 409 (conflict), 429, 5xx and connection failures are not.

Every request has a timeout (``HMS_KUBE_TIMEOUT_SECONDS`` to connect, and as long
again for the answer), so a hung API server is a transient error like a 503, not
a worker stuck until its run's lease expires. A request that timed out may still
have been applied: callers send absolute values (see ``scale_to``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import urllib3
from django.conf import settings
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
TRANSIENT_STATUSES = {409, 429}


class KubeError(Exception):
    def __init__(self, message: str, *, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


@dataclass(frozen=True)
class Target:
    """A deployment in a namespace of a cluster, as named in the service's YAML."""

    deployment: str
    namespace: str = "default"
    cluster: str | None = None


@dataclass
class KubeCall:
    method: str
    path: str
    body: Any = None
    dry_run: bool = False
    result: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "dry_run": self.dry_run,
            "result": self.result,
        }


def _api_client(cluster: str | None) -> k8s.ApiClient:
    if settings.KUBE_API_URL:
        cfg = k8s.Configuration(host=settings.KUBE_API_URL.rstrip("/"))
        if settings.KUBE_TOKEN:
            cfg.api_key = {"authorization": settings.KUBE_TOKEN}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        # One HTTP request per call: our callers count and retry attempts themselves.
        cfg.retries = 0
        return k8s.ApiClient(cfg)
    cfg = k8s.Configuration()
    try:
        k8s_config.load_kube_config(context=cluster, client_configuration=cfg)
    except (ConfigException, FileNotFoundError, TypeError):
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except ConfigException as exc:
            raise KubeError(
                f"no Kubernetes cluster configured (KUBE_API_URL, kubeconfig or in-cluster): {exc}",
                permanent=True,
            ) from None
    cfg.retries = 0
    return k8s.ApiClient(cfg)


def _scale_path(target: Target) -> str:
    return f"/apis/apps/v1/namespaces/{target.namespace}/deployments/{target.deployment}/scale"


def _deployment_path(target: Target) -> str:
    return f"/apis/apps/v1/namespaces/{target.namespace}/deployments/{target.deployment}"


def _timed_out(exc: BaseException) -> bool:
    """A connect or read timeout, bare or wrapped in urllib3's ``MaxRetryError``."""
    timeouts = (urllib3.exceptions.TimeoutError, TimeoutError)
    return isinstance(exc, timeouts) or isinstance(getattr(exc, "reason", None), timeouts)


def _call(fn, *args, **kwargs):
    """Run one client call with the request timeout, turning its failures into ``KubeError``."""
    timeout = float(settings.HMS_KUBE_TIMEOUT_SECONDS)
    kwargs.setdefault("_request_timeout", (timeout, timeout))
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        permanent = not (exc.status in TRANSIENT_STATUSES or (exc.status or 0) >= 500)
        reason = (exc.body or exc.reason or "").strip() if isinstance(exc.body, str) else exc.reason
        raise KubeError(
            f"Kubernetes answered {exc.status}: {reason}", permanent=permanent, status=exc.status
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if _timed_out(exc):
            raise KubeError(
                f"Kubernetes did not answer within {timeout:g} s (HMS_KUBE_TIMEOUT_SECONDS): {exc}",
                permanent=False,
            ) from None
        raise KubeError(f"Kubernetes unreachable: {exc}", permanent=False) from None


def read_replicas(target: Target) -> int:
    apps = k8s.AppsV1Api(_api_client(target.cluster))
    scale = _call(apps.read_namespaced_deployment_scale, target.deployment, target.namespace)
    return int(scale.spec.replicas or 0)


def plan_scale(target: Target, delta: int, *, minimum: int = 0, maximum: int | None = None) -> dict:
    """Read the current replicas and decide the absolute target: current + delta, clamped."""
    current = read_replicas(target)
    wanted = max(minimum, current + delta)
    if maximum is not None:
        wanted = min(wanted, maximum)
    return {"from": current, "to": wanted}


def scale_to(target: Target, plan: dict) -> KubeCall:
    """PATCH the replicas to ``plan["to"]``: an absolute value, so sending it twice is harmless."""
    body = {"spec": {"replicas": plan["to"]}}
    if plan["to"] == plan["from"]:
        return KubeCall("PATCH", _scale_path(target), body, result={**plan, "unchanged": True})
    apps = k8s.AppsV1Api(_api_client(target.cluster))
    patched = _call(
        apps.patch_namespaced_deployment_scale, target.deployment, target.namespace, body
    )
    return KubeCall(
        "PATCH", _scale_path(target), body, result={**plan, "to": int(patched.spec.replicas)}
    )


def scale_by(
    target: Target, delta: int, *, minimum: int = 0, maximum: int | None = None
) -> KubeCall:
    """Scale relative to the current replicas, clamped to ``[minimum, maximum]``."""
    if settings.KUBE_DRY_RUN:
        body = {"spec": {"replicas": f"current{delta:+d}"}}
        return KubeCall(
            "PATCH",
            _scale_path(target),
            body,
            dry_run=True,
            result={"min": minimum, "max": maximum},
        )
    return scale_to(target, plan_scale(target, delta, minimum=minimum, maximum=maximum))


TEMPLATE_HASH_LABEL = "pod-template-hash"


def _revision(rs) -> int:
    return int((rs.metadata.annotations or {}).get(REVISION_ANNOTATION, 0))


def _template_hash(rs) -> str:
    return (rs.spec.template.metadata.labels or {}).get(TEMPLATE_HASH_LABEL, "")


def plan_rollback(target: Target) -> dict:
    """Which ReplicaSet a rollback restores: the previous revision, pinned by its template hash."""
    apps = k8s.AppsV1Api(_api_client(target.cluster))
    owned = sorted(_owned_replica_sets(apps, target), key=_revision, reverse=True)
    if len(owned) < 2:
        raise KubeError(
            f"deployment {target.deployment} has no previous revision to roll back to",
            permanent=True,
        )
    return {
        "from_revision": _revision(owned[0]),
        "to_revision": _revision(owned[1]),
        "to_hash": _template_hash(owned[1]),
    }


def rollback(target: Target, plan: dict | None = None) -> KubeCall:
    """Put back the pod template of the previous ReplicaSet revision (``rollout undo``).

    ``plan`` (from ``plan_rollback``, stored by the caller before acting) pins the
    ReplicaSet by its pod-template hash, so a repeated attempt restores the same
    template instead of stepping back one more revision.
    """
    if settings.KUBE_DRY_RUN:
        return KubeCall(
            "PATCH",
            _deployment_path(target),
            {"spec": {"template": "<previous revision's template>"}},
            dry_run=True,
        )
    plan = plan or plan_rollback(target)
    api_client = _api_client(target.cluster)
    apps = k8s.AppsV1Api(api_client)
    chosen = next(
        (rs for rs in _owned_replica_sets(apps, target) if _template_hash(rs) == plan["to_hash"]),
        None,
    )
    if chosen is None:
        raise KubeError(
            f"the ReplicaSet planned for the rollback ({plan['to_hash']}) is gone", permanent=True
        )
    template = api_client.sanitize_for_serialization(chosen.spec.template)
    template.get("metadata", {}).get("labels", {}).pop(TEMPLATE_HASH_LABEL, None)
    body = {"spec": {"template": template}}
    _call(apps.patch_namespaced_deployment, target.deployment, target.namespace, body)
    return KubeCall("PATCH", _deployment_path(target), body, result=plan)


def _owned_replica_sets(apps, target: Target) -> list:
    deployment = _call(apps.read_namespaced_deployment, target.deployment, target.namespace)
    labels = deployment.spec.selector.match_labels or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    replica_sets = _call(
        apps.list_namespaced_replica_set, target.namespace, label_selector=selector
    ).items
    return [
        rs
        for rs in replica_sets
        if any(ref.uid == deployment.metadata.uid for ref in (rs.metadata.owner_references or []))
    ]
