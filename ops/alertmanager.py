"""Alerts from a Prometheus Alertmanager become the named events of registered services.

Alertmanager's webhook (payload version 4) posts groups of alerts, and posts them
again every ``group_interval``/``repeat_interval`` while they fire. An alert whose
``service`` label (``HMS_ALERTMANAGER_SERVICE_LABEL``) names a registered service
and whose ``alertname`` is an event of that service's playbook (``if: HighErrorRate``)
opens that event's incident, exactly as ``POST /services/{id}/events/`` does; the
same alert ``resolved`` resolves it, which runs the ``recovered`` steps.

Alerts are deduplicated by Alertmanager's fingerprint: the incident keeps the
fingerprints of the alerts that fire for it (several instances may fire the same
alert name), a repeated notification changes nothing, and the incident resolves
when the last of them resolves. Alerts this monitor cannot act on (no service
label, an unknown service, an alert name with no playbook step, a service the
caller's ingest key is not for) are answered as skipped with the reason, never
as an error, so Alertmanager does not retry them forever.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from ops.models import Incident, Service
from ops.playbook import triggers
from ops.playbook.incidents import resolve_incident

ALERT_STATUSES = ("firing", "resolved")  # Alertmanager's, for an alert and a notification
FINGERPRINTS = "alertmanager_fingerprints"
RESOLVED_BY = "alertmanager"


@dataclass(frozen=True)
class Outcome:
    fingerprint: str
    alertname: str
    service: str | None
    result: str  # opened, firing, resolved, still_firing, skipped
    reason: str = ""
    incident: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def receive(alerts: list[dict], *, label: str, only_service: str | None = None) -> list[Outcome]:
    """Act on each alert of one webhook notification; ``only_service`` scopes an ingest key."""
    return [_one(alert, label=label, only_service=only_service) for alert in alerts]


def _one(alert: dict, *, label: str, only_service: str | None) -> Outcome:
    labels = alert["labels"]
    name = labels.get("alertname", "")
    service_id = labels.get(label)
    outcome = {"fingerprint": alert["fingerprint"], "alertname": name, "service": service_id}
    reason = _refusal(name, service_id, label, only_service)
    if reason:
        return Outcome(**outcome, result="skipped", reason=reason)
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        return Outcome(**outcome, result="skipped", reason="no such service")
    if alert["status"] == "firing":
        return _firing(service, name, alert, outcome)
    return _resolved(service, name, alert, outcome)


def _refusal(name: str, service_id: str | None, label: str, only_service: str | None) -> str:
    if not name:
        return "the alert has no alertname label"
    if not service_id:
        return f"the alert has no {label!r} label"
    if only_service is not None and service_id != only_service:
        return f"this ingest key is for service {only_service}"
    return ""


def _firing(service: Service, name: str, alert: dict, outcome: dict) -> Outcome:
    detail = {"alertmanager": {"labels": alert["labels"], "startsAt": alert.get("startsAt")}}
    if "pod" in alert["labels"]:
        detail["pod"] = alert["labels"]["pod"]
    condition = triggers.event_condition(name)
    with transaction.atomic():
        was_open = Incident.objects.filter(
            service=service, condition=condition, state=Incident.State.OPEN
        ).exists()
        try:
            incident = triggers.raise_event(service, name, detail)
        except triggers.EventError as exc:
            return Outcome(**outcome, result="skipped", reason=str(exc))
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        fingerprints = list(incident.detail.get(FINGERPRINTS, []))
        if alert["fingerprint"] not in fingerprints:
            fingerprints.append(alert["fingerprint"])
            incident.detail = {**incident.detail, FINGERPRINTS: fingerprints}
            incident.save(update_fields=["detail"])
    return Outcome(**outcome, result="firing" if was_open else "opened", incident=incident.pk)


def _resolved(service: Service, name: str, alert: dict, outcome: dict) -> Outcome:
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update()
            .filter(
                service=service,
                condition=triggers.event_condition(name),
                state=Incident.State.OPEN,
            )
            .first()
        )
        fingerprints = list(incident.detail.get(FINGERPRINTS, [])) if incident else []
        if alert["fingerprint"] not in fingerprints:
            return Outcome(**outcome, result="skipped", reason="no open incident for this alert")
        fingerprints.remove(alert["fingerprint"])
        incident.detail = {**incident.detail, FINGERPRINTS: fingerprints}
        incident.save(update_fields=["detail"])
        if fingerprints:
            return Outcome(**outcome, result="still_firing", incident=incident.pk)
        resolve_incident(incident, at=timezone.now(), by=RESOLVED_BY)
    return Outcome(**outcome, result="resolved", incident=incident.pk)
