"""OPS state changes, as plain functions (each atomic).

Registration (the API, ``manage.py ops_register``, the admin upload and the demo
all call ``register_service``), ingest keys, the worker heartbeat, and ``tick``:
the beat's evaluation pass (SLOs, metric conditions, due playbook runs).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ops import audit, slo, slo_handoff
from ops.budget import evaluate as budget
from ops.models import SLO, IngestKey, Sensor, Service, ServiceVersion, WorkerHeartbeat
from ops.models.service import hash_ingest_key
from ops.playbook import runner, triggers
from ops.servicedef import DefinitionError, ServiceDefinition, parse_definition

AUDIT_TOPIC = "ops.service"


def record_heartbeat(name: str = "worker") -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )
    return heartbeat


def tick(at: datetime | None = None) -> dict:
    """One evaluation pass at ``at`` (default now), in order; returns what each step did.

    The SLO pass commits its state changes only; their audit entries, incidents and
    playbook plans follow per service (``ops.slo_handoff``), and the same beat sends again
    any hand-off still unhandled after its grace period. The metric conditions are decided
    at the same instant; the beat then sweeps the playbook: due steps
    (``still_breach_after``, retries) are found in the database, so a restarted worker
    loses none. A step added here gets its own key in the result.
    """
    result = slo.evaluate_all(at)
    return {
        "at": result.at.isoformat(),
        "evaluated": result.evaluated,
        "changes": len(result.changes),
        "handoffs_resent": slo_handoff.sweep(),
        "condition_changes": triggers.evaluate_conditions(result.at),
        "burn_changes": budget.evaluate(result.at),
        "due_actions": runner.dispatch_due(),
    }


@dataclass(frozen=True)
class Registration:
    service: Service
    created: bool
    changed: bool
    # The new ingest key in clear text: only on first registration, never stored.
    ingest_key: str | None = None


def register_service(
    source: str | bytes | dict, *, expected_id: str | None = None, actor=None
) -> Registration:
    """Register a service from an ``.ops.yaml`` text (or the same shape as data).

    Registering the same ``id`` again updates the service and keeps the previous
    definition as a ``ServiceVersion``; an identical document changes nothing.
    Raises ``DefinitionError`` (nothing written) when the document is invalid.
    Every change is an ``ops.service`` audit entry (``actor``: a user or a name).
    """
    definition = parse_definition(source)
    if expected_id is not None and definition.id != expected_id:
        raise DefinitionError(
            {"id": [f"the document's id is {definition.id!r}, but the URL names {expected_id!r}"]}
        )
    with transaction.atomic():
        created = False
        service = Service.objects.select_for_update().filter(pk=definition.id).first()
        if service is None:
            try:
                with transaction.atomic():
                    service = _create(definition)
                    created = True
            except IntegrityError:  # registered concurrently: update it instead
                service = Service.objects.select_for_update().get(pk=definition.id)
        if not created:
            if service.document == definition.document and service.source == definition.source:
                return Registration(service, created=False, changed=False)
            _keep_previous_version(service)
            service.owner = definition.owner
            service.description = definition.description
            service.document = definition.document
            service.source = definition.source
            service.version += 1
            service.save()
        _sync_sensors(service, definition)
        _sync_slo(service, definition)
        key = _issue_key(service) if created else None
        audit.record(
            AUDIT_TOPIC,
            {
                "service": service.id,
                "action": "registered" if created else "updated",
                "version": service.version,
                "document": service.document,
            },
            actor=actor,
        )
    return Registration(service, created=created, changed=True, ingest_key=key)


@transaction.atomic
def delete_service(service: Service, *, actor=None) -> None:
    """Delete a service with its sensors, SLO, samples and versions; the audit keeps its last
    definition."""
    audit.record(
        AUDIT_TOPIC,
        {
            "service": service.id,
            "action": "deleted",
            "version": service.version,
            "document": service.document,
        },
        actor=actor,
    )
    service.delete()


def _create(definition: ServiceDefinition) -> Service:
    return Service.objects.create(
        id=definition.id,
        owner=definition.owner,
        description=definition.description,
        document=definition.document,
        source=definition.source,
    )


def _keep_previous_version(service: Service) -> None:
    ServiceVersion.objects.create(
        service=service,
        version=service.version,
        document=service.document,
        source=service.source,
        registered_at=service.updated_at,
    )


def _sync_sensors(service: Service, definition: ServiceDefinition) -> None:
    """Keep sensor rows (and their scrape history) whose name is still declared."""
    wanted = {sensor.name: sensor for sensor in definition.sensors}
    service.sensors.exclude(name__in=wanted).delete()
    existing = {sensor.name: sensor for sensor in service.sensors.all()}
    for name, sensor_def in wanted.items():
        fields = {
            "scrape_url": sensor_def.scrape_url,
            "help": sensor_def.help,
            "labels": sensor_def.labels,
        }
        sensor = existing.get(name)
        if sensor is None:
            Sensor.objects.create(service=service, name=name, **fields)
        elif any(getattr(sensor, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(sensor, key, value)
            sensor.save(update_fields=list(fields))


def _sync_slo(service: Service, definition: ServiceDefinition) -> None:
    """The SLO keeps its state when only its numbers change; the next pass re-decides it."""
    slo_def = definition.slo
    service.slos.exclude(target=slo_def.target).delete()
    SLO.objects.update_or_create(
        service=service,
        target=slo_def.target,
        create_defaults={**_slo_fields(slo_def), "since": timezone.now()},
        defaults=_slo_fields(slo_def),
    )


def _slo_fields(slo_def) -> dict:
    return {
        "threshold": slo_def.threshold,
        "window_seconds": slo_def.window_seconds,
        "percentile": slo_def.percentile,
        "objective": slo_def.objective,
        "budget_window": slo_def.budget_window,
        "min_samples": slo_def.min_samples,
    }


def _issue_key(service: Service) -> str:
    key = IngestKey.generate()
    IngestKey.objects.create(service=service, key_hash=hash_ingest_key(key), hint=key[:10])
    return key


@transaction.atomic
def rotate_ingest_key(service: Service, *, actor=None) -> str:
    """Revoke the service's keys and issue a new one; the clear key is returned once."""
    revoked = service.ingest_keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    key = _issue_key(service)
    audit.record(
        AUDIT_TOPIC,
        {
            "service": service.id,
            "action": "ingest_key_rotated",
            "revoked": revoked,
            "hint": key[:10],
        },
        actor=actor,
    )
    return key


def service_for_ingest_key(key: str) -> str | None:
    """The service id a live ingest key may write, or None."""
    # On every ingest request: one indexed statement written out (the ORM's query building
    # cost about as much as the round trip), unordered (the model's ordering joined
    # ops_service), the first live key.
    table = IngestKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT service_id FROM {table} WHERE key_hash = %s AND revoked_at IS NULL LIMIT 1",  # noqa: S608
            [hash_ingest_key(key)],
        )
        row = cursor.fetchone()
    return row[0] if row else None
