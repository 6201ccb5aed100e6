"""Configuration changes of programs, baselines and policies, saved with an ``apm.config`` entry.

The one place the API, the admin, the policy loader and the demo save or delete
those rows, so every change is in the audit vault with its changed fields and actor.
"""

from __future__ import annotations

from django.db import models, transaction

from ops import audit

TOPIC = "apm.config"
SKIPPED = {"created_at", "updated_at", "periodic_task", "probe_verified", "probe_note"}


def _value(obj, field):
    value = getattr(obj, field.attname)
    return value if not isinstance(value, models.Model) else value.pk


def _fields(obj) -> dict:
    return {
        f.name: _value(obj, f)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.name not in SKIPPED
    }


def _label(obj) -> str:
    return obj._meta.model_name


def save(obj, *, actor=None, **save_kwargs):
    """Save ``obj`` (already validated) and audit what changed; nothing when nothing did."""
    with transaction.atomic():
        before = None
        if obj.pk is not None:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = _fields(old) if old is not None else None
        obj.save(**save_kwargs)
        after = _fields(obj)
        if before is None:
            change, changed = "created", after
        else:
            change = "updated"
            changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
            if not changed:
                return obj
        audit.record(
            TOPIC,
            {
                "model": _label(obj),
                "id": obj.pk,
                "name": str(obj),
                "change": change,
                "fields": changed,
            },
            actor=actor,
        )
    return obj


def delete(obj, *, actor=None):
    """Delete ``obj`` and audit it (with its last field values)."""
    with transaction.atomic():
        pk, label, name, fields = obj.pk, _label(obj), str(obj), _fields(obj)
        obj.delete()
        audit.record(
            TOPIC,
            {"model": label, "id": pk, "name": name, "change": "deleted", "fields": fields},
            actor=actor,
        )
