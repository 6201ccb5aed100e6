"""What each playbook action does: one executor class per action keyword (``EXECUTORS``).

An executor gets the typed action (from ``ops.playbook.grammar``), the incident
and the service's Kubernetes block; ``run()`` returns the detail to record or
raises ``KubeError`` (or ``LostClaim`` when the run was taken from this worker).
Executors with ``transactional = True`` only write rows (audit, outbox) and run
inside the transaction that records their success, so running twice cannot
write twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings

from ops import audit, kube, outbox
from ops.models import ActionRun, Channel, Incident
from ops.playbook import grammar, traffic
from ops.servicedef import KubernetesDef

AUDIT_TOPIC = "ops.incident"


class ActionError(Exception):
    """An action that cannot succeed as configured (retrying cannot help)."""

    permanent = True
    status = None


class LostClaim(Exception):
    """This worker no longer holds the run: its lease expired and another worker took it.

    Raised before anything is sent, so the slow worker stops and leaves the run (and its
    record, with the interrupted entry the new owner wrote) to the new owner.
    """


ACTOR = "playbook"


@dataclass
class Context:
    run: ActionRun
    incident: Incident
    kubernetes: KubernetesDef

    def remember(self, key: str, value) -> None:
        """Store ``value`` in the run's detail now (committed), before acting on it.

        Only while this worker still holds the claim (running, the attempt it took): a
        slow worker whose lease was taken over must not overwrite the new owner's record
        nor go on to act; it gets ``LostClaim`` and the row is left untouched.
        """
        detail = {**(self.run.detail or {}), key: value}
        if not self.run.while_held().update(detail=detail):
            raise LostClaim(
                f"run {self.run.pk} attempt {self.run.attempts} was taken over "
                f"before its {key} was stored"
            )
        self.run.detail = detail

    def target(self, action) -> kube.Target:
        return kube.Target(
            deployment=getattr(action, "deployment", "") or self.kubernetes.deployment,
            namespace=getattr(action, "namespace", "") or self.kubernetes.namespace,
            cluster=self.kubernetes.cluster,
        )


def incident_summary(incident: Incident) -> str:
    slo = incident.slo
    if slo is None:
        return f"{incident.service_id}: {incident.condition} (incident #{incident.pk})"
    value = "no value" if slo.value is None else f"{slo.value:g}"
    return (
        f"{incident.service_id}: p{slo.percentile:g}({slo.target}) = {value} "
        f"> {slo.threshold:g} (incident #{incident.pk}, {incident.condition})"
    )


class Executor:
    keyword: ClassVar[str]
    transactional: ClassVar[bool] = False

    def run(self, action, ctx: Context) -> dict:
        raise NotImplementedError


class ScaleUpExecutor(Executor):
    """PATCH ``deployments/{name}/scale`` to current + compute, capped by ``max_replicas``.

    The absolute target is decided once and stored on the run before the PATCH; a
    later attempt (a retry, or a new worker after one died mid-PATCH) sends that same
    absolute value, so the deployment is never scaled twice by one step.
    """

    keyword = "scale_up"
    sign = 1

    def run(self, action, ctx):
        target = ctx.target(action)
        limits = {"minimum": ctx.kubernetes.min_replicas, "maximum": ctx.kubernetes.max_replicas}
        if settings.KUBE_DRY_RUN:
            return {
                "kubernetes": kube.scale_by(target, self.sign * action.compute, **limits).as_dict()
            }
        plan = (ctx.run.detail or {}).get("scale_plan")
        if plan is None:
            plan = kube.plan_scale(target, self.sign * action.compute, **limits)
            ctx.remember("scale_plan", plan)
        return {"kubernetes": kube.scale_to(target, plan).as_dict()}


class ScaleDownExecutor(ScaleUpExecutor):
    """The same PATCH to current - compute, never below ``min_replicas``."""

    keyword = "scale_down"
    sign = -1


class RollbackExecutor(Executor):
    """PATCH the deployment's pod template back to the previous ReplicaSet's."""

    keyword = "rollback"

    def run(self, action, ctx):
        # Like scale: the chosen ReplicaSet is stored before the PATCH, so a repeated
        # attempt restores the same template rather than going back one more revision.
        target = ctx.target(action)
        plan = (ctx.run.detail or {}).get("rollback_plan")
        if plan is None and not settings.KUBE_DRY_RUN:
            plan = kube.plan_rollback(target)
            ctx.remember("rollback_plan", plan)
        return {"kubernetes": kube.rollback(target, plan).as_dict()}


class ThrottleExecutor(Executor):
    """Lower the Ingress ``limit-rps`` by N % (see ``ops.playbook.traffic``)."""

    keyword = "throttle"

    def run(self, action, ctx):
        target = ctx.target(action)
        ingress = ctx.kubernetes.ingress or target.deployment
        call = traffic.throttle(
            target, ingress, action.percent, marker=f"incident-{ctx.incident.pk}"
        )
        return {"kubernetes": call.as_dict()}


class IsolateExecutor(Executor):
    """Relabel the pod out of its Service and deny all its traffic with a NetworkPolicy."""

    keyword = "isolate"

    def run(self, action, ctx):
        pod = ctx.incident.detail.get("pod") or action.name
        if not pod:
            raise ActionError(
                "isolate: no pod named (send 'pod' with the event, or write isolate pod name=...)"
            )
        calls = traffic.isolate(ctx.target(action), pod)
        return {"kubernetes": [call.as_dict() for call in calls]}


class PageExecutor(Executor):
    """A notification through the outbox to the named channel (sent after commit, once)."""

    keyword = "page"
    transactional = True

    def run(self, action, ctx):
        text = action.message or f"[{action.severity}] {incident_summary(ctx.incident)}"
        if not Channel.objects.filter(name=action.channel).exists():
            raise ActionError(f"page: no notification channel named {action.channel!r}")
        notification = outbox.enqueue(
            action.channel,
            text,
            dedupe_key=f"ops.incident:{ctx.incident.pk}:run:{ctx.run.pk}",
            subject=f"{action.severity}: {ctx.incident.service_id}",
            payload={"incident": ctx.incident.pk, "severity": action.severity},
            source_topic=AUDIT_TOPIC,
            source_id=str(ctx.incident.pk),
        )
        return {"notification": notification.pk, "channel": action.channel, "text": text}


class LogToExecutor(Executor):
    """An entry in the audit vault (HMS-DTA) under the action's topic."""

    keyword = "log_to"
    transactional = True

    def run(self, action, ctx):
        entry = audit.record(
            action.topic,
            {
                "event": "log",
                "destination": action.destination,
                "incident": ctx.incident.pk,
                "service": ctx.incident.service_id,
                "summary": incident_summary(ctx.incident),
            },
            actor=ACTOR,
        )
        return {"audit_entry": entry.pk, "destination": action.destination}


EXECUTORS: dict[str, Executor] = {
    cls.keyword: cls()
    for cls in (
        ScaleUpExecutor,
        ScaleDownExecutor,
        RollbackExecutor,
        ThrottleExecutor,
        IsolateExecutor,
        PageExecutor,
        LogToExecutor,
    )
}


def action_from(run: ActionRun):
    """The typed action stored on the run (``arguments`` is its ``to_dict()``)."""
    arguments = {k: v for k, v in run.arguments.items() if k != "action"}
    return grammar.ACTIONS[run.action](**arguments)
