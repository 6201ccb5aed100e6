"""A Kubernetes API peer on loopback speaking the real apps/v1 paths.

No real API server can be installed here, so this one keeps a little state
(deployments, their ReplicaSets) and answers the requests the ``kubernetes``
client makes. ``fail_next(status, ...)`` queues error answers (a ``Status``
body, as a real API server sends) before normal service resumes.
``hold_next(method, seconds)`` answers the next request of that method late: it
is applied at once (a PATCH changes the cluster) but the caller hears nothing
for ``seconds``, like an answer lost on its way back to a worker that dies.
"""

import copy
import re
import threading
import uuid

from tests.support.http_server import LoopbackServer, Reply

DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale)?$")
REVISION = "deployment.kubernetes.io/revision"
REPLICASETS = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/replicasets$")
PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)$")
INGRESSES = re.compile(r"^/apis/networking.k8s.io/v1/namespaces/([^/]+)/ingresses/([^/]+)$")
POLICIES = re.compile(r"^/apis/networking.k8s.io/v1/namespaces/([^/]+)/networkpolicies$")


def _merge(target: dict, patch: dict) -> None:
    """Strategic/JSON merge of maps: a null value deletes the key."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _template(image: str, labels: dict) -> dict:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


class FakeKubernetes:
    def __init__(self):
        self.deployments: dict[tuple[str, str], dict] = {}
        self.replica_sets: dict[str, list[dict]] = {}
        self.failures: list[int] = []
        self.holds: list[tuple[str, float]] = []
        self.pods: dict[tuple[str, str], dict] = {}
        self.ingresses: dict[tuple[str, str], dict] = {}
        self.network_policies: dict[tuple[str, str], dict] = {}
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.handle)

    # --- test set-up -------------------------------------------------------------
    def add_deployment(self, name, namespace="default", replicas=3, images=("app:1",)):
        labels = {"app": name}
        uid = str(uuid.uuid4())
        self.deployments[(namespace, name)] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "uid": uid},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": _template(images[-1], labels),
            },
        }
        self.replica_sets[namespace] = self.replica_sets.get(namespace, []) + [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{name}-{revision}",
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": name,
                            "uid": uid,
                            "controller": True,
                        }
                    ],
                },
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": _template(image, {**labels, "pod-template-hash": f"h{revision}"}),
                },
            }
            for revision, image in enumerate(images, start=1)
        ]

    def add_pod(self, name, namespace="default", labels=None):
        self.pods[(namespace, name)] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        }

    def add_ingress(self, name, namespace="default", annotations=None):
        self.ingresses[(namespace, name)] = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": dict(annotations or {}),
            },
            "spec": {},
        }

    def fail_next(self, *statuses: int):
        self.failures.extend(statuses)

    def hold_next(self, method: str, seconds: float):
        """Apply the next ``method`` request ("GET", "PATCH", ...); answer it ``seconds`` late."""
        self.holds.append((method.upper(), seconds))

    def replicas(self, name, namespace="default") -> int:
        return self.deployments[(namespace, name)]["spec"]["replicas"]

    def image(self, name, namespace="default") -> str:
        return self.deployments[(namespace, name)]["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self):
        return self.server.requests

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    # --- the API -----------------------------------------------------------------
    @staticmethod
    def status(code: int, message: str) -> Reply:
        return Reply(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "code": code,
            },
        )

    def handle(self, request) -> Reply:
        reply = self._answer(request)  # applied now; the server sends it after ``delay``
        with self.lock:
            held = next((h for h in self.holds if h[0] == request.method), None)
            if held is not None:
                self.holds.remove(held)
                reply.delay = held[1]
        return reply

    def _answer(self, request) -> Reply:
        with self.lock:
            if self.failures:
                return self.status(self.failures.pop(0), "injected failure")
            if match := DEPLOYMENT.match(request.path):
                namespace, name, scale = match.groups()
                deployment = self.deployments.get((namespace, name))
                if deployment is None:
                    return self.status(404, f'deployments.apps "{name}" not found')
                if request.method == "PATCH":
                    patch = request.json()
                    if scale:
                        deployment["spec"]["replicas"] = int(patch["spec"]["replicas"])
                    elif "template" in patch.get("spec", {}):
                        deployment["spec"]["template"] = patch["spec"]["template"]
                        self._promote_matching_replica_set(namespace, deployment)
                return Reply(200, self._scale(deployment) if scale else copy.deepcopy(deployment))
            for pattern, store, kind in (
                (PODS, self.pods, "pods"),
                (INGRESSES, self.ingresses, "ingresses.networking.k8s.io"),
            ):
                if match := pattern.match(request.path):
                    found = store.get(match.groups())
                    if found is None:
                        return self.status(404, f'{kind} "{match.group(2)}" not found')
                    if request.method == "PATCH":
                        _merge(found, request.json())
                    return Reply(200, copy.deepcopy(found))
            if (match := POLICIES.match(request.path)) and request.method == "POST":
                policy = request.json()
                key = (match.group(1), policy["metadata"]["name"])
                if key in self.network_policies:
                    return self.status(409, f'networkpolicies "{key[1]}" already exists')
                self.network_policies[key] = policy
                return Reply(201, copy.deepcopy(policy))
            if match := REPLICASETS.match(request.path):
                return Reply(
                    200,
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSetList",
                        "metadata": {},
                        "items": self.replica_sets.get(match.group(1), []),
                    },
                )
            return self.status(404, f"no route for {request.method} {request.path}")

    def _promote_matching_replica_set(self, namespace, deployment):
        """As the deployment controller does: the ReplicaSet whose template now matches
        becomes the newest revision (so "the previous revision" changes)."""

        def bare(template):
            labels = dict(template["metadata"].get("labels", {}))
            labels.pop("pod-template-hash", None)
            return {**template, "metadata": {**template["metadata"], "labels": labels}}

        owned = [
            rs
            for rs in self.replica_sets.get(namespace, [])
            if rs["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
        ]
        newest = max(int(rs["metadata"]["annotations"][REVISION]) for rs in owned)
        for rs in owned:
            if bare(rs["spec"]["template"]) == bare(deployment["spec"]["template"]):
                rs["metadata"]["annotations"][REVISION] = str(newest + 1)

    @staticmethod
    def _scale(deployment) -> dict:
        replicas = deployment["spec"]["replicas"]
        labels = deployment["spec"]["selector"]["matchLabels"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": deployment["metadata"]["name"],
                "namespace": deployment["metadata"]["namespace"],
            },
            "spec": {"replicas": replicas},
            "status": {
                "replicas": replicas,
                "selector": ",".join(f"{k}={v}" for k, v in labels.items()),
            },
        }
