"""Maintenance windows: create, change, delete (audited), and "is X in maintenance at t?".

One function per action, called by the admin, the API and the tests alike; each is
atomic and writes an ``apm.maintenance`` audit entry. The questions:

- ``baseline_in_maintenance(baseline, at)``: a window on the baseline or its program;
- ``services_in_maintenance(ids, at)``: windows on OPS services, registered in
  ``ops.maintenance`` by ``ApmConfig.ready`` so ``ops`` can ask without importing
  ``apm``;
- ``spans_for_baseline`` / ``spans_for_service``: the spans over a range, for the
  pages, trends and the public scorecard.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from apm.models import Baseline, MaintenanceWindow, Program
from apm.models.access import may_write
from ops import audit

TOPIC = "apm.maintenance"
ONE_SCOPE = "Choose exactly one of program, baseline or service."
FIELDS = ("program", "baseline", "service", "starts_at", "ends_at", "reason", "recurrence")


def _record(window: MaintenanceWindow, change: str, actor) -> None:
    audit.record(
        TOPIC,
        {
            "window": window.pk,
            "change": change,
            "scope": window.scope_label,
            "program": window.program_id,
            "baseline": window.baseline_id,
            "service": window.service_id,
            "starts_at": window.starts_at,
            "ends_at": window.ends_at,
            "recurrence": window.recurrence,
            "reason": window.reason,
        },
        actor=actor,
    )


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def create_window(*, actor, **fields) -> MaintenanceWindow:
    """Validate (``full_clean``: ValidationError naming the field) and save a new window."""
    window = MaintenanceWindow(**fields)
    window.created_by = _actor_user(actor)
    window.full_clean()
    window.save()
    _record(window, "created", actor)
    return window


@transaction.atomic
def update_window(window: MaintenanceWindow, *, actor, **fields) -> MaintenanceWindow:
    for name, value in fields.items():
        setattr(window, name, value)
    window.full_clean()
    window.save()
    _record(window, "changed", actor)
    return window


@transaction.atomic
def delete_window(window: MaintenanceWindow, *, actor) -> None:
    _record(window, "deleted", actor)
    window.delete()


def may_edit(user, window: MaintenanceWindow) -> bool:
    if not may_write(user):
        return False
    if user.is_superuser:
        return True
    if window.service_id is not None:
        return window.program_id is None and user.has_perm("apm.silence_service")
    if window.baseline_id is not None:
        return Baseline.objects.editable_by(user).filter(pk=window.baseline_id).exists()
    return Program.objects.editable_by(user).filter(pk=window.program_id).exists()


def baseline_in_maintenance(baseline: Baseline, at: datetime) -> bool:
    """Whether a window on ``baseline`` or on its program covers ``at`` (one query)."""
    return any(w.covers(at) for w in windows_near(baseline, at))


def windows_near(baseline: Baseline, at: datetime) -> list[MaintenanceWindow]:
    """The windows on ``baseline`` or its program that may cover ``at`` (``may_cover``:
    one-off ones around it, weekly ones begun by then; one query)."""
    scope = Q(baseline_id=baseline.pk) | Q(program_id=baseline.program_id)
    return list(MaintenanceWindow.objects.filter(scope).may_cover(at))


_FEW_SERVICES = 100  # above this many, one scan of the service windows beats an IN list


def services_in_maintenance(service_ids: Iterable[str], at: datetime) -> set[str]:
    """The ids among ``service_ids`` with a window covering ``at`` (one query)."""
    ids = set(service_ids)
    if not ids:
        return set()
    if len(ids) > _FEW_SERVICES:  # the whole pass's services: not an IN list of thousands
        return services_in_maintenance_at(at) & ids
    windows = MaintenanceWindow.objects.filter(service_id__in=ids)
    return {w.service_id for w in windows.covering(at)}


def services_in_maintenance_at(at: datetime) -> set[str]:
    """Every service with a window covering ``at`` (one query: every service window)."""
    windows = MaintenanceWindow.objects.filter(service_id__isnull=False)
    return {w.service_id for w in windows.covering(at)}


def _spans(windows, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    spans = sorted(span for w in windows for span in w.spans(since, until))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def spans_for_baseline(baseline: Baseline, since: datetime, until: datetime):
    """Merged maintenance spans over ``[since, until)`` for the baseline (its own and its
    program's windows)."""
    scope = Q(baseline_id=baseline.pk) | Q(program_id=baseline.program_id)
    return _spans(MaintenanceWindow.objects.filter(scope, starts_at__lt=until), since, until)


def spans_for_service(service_id: str, since: datetime, until: datetime):
    windows = MaintenanceWindow.objects.filter(service_id=service_id, starts_at__lt=until)
    return _spans(windows, since, until)


def spans_by_baseline(baselines, since: datetime, until: datetime) -> dict[int, list]:
    """{baseline id: merged maintenance spans over ``[since, until)``} for many baselines,
    their own windows and their programs': one query (the pages' trends)."""
    baselines = list(baselines)
    if not baselines:
        return {}
    windows = list(
        MaintenanceWindow.objects.filter(
            Q(baseline_id__in=[b.pk for b in baselines])
            | Q(program_id__in={b.program_id for b in baselines}),
            starts_at__lt=until,
        )
    )
    return {
        b.pk: _spans(
            [w for w in windows if w.baseline_id == b.pk or w.program_id == b.program_id],
            since,
            until,
        )
        for b in baselines
    }
