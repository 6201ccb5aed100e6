"""Is a service in maintenance? The question ``ops`` asks, answered by whoever registers.

``ops`` never imports ``apm``, where ``MaintenanceWindow`` lives (a window may cover a
program or a baseline as well as a service). ``apm`` registers its answer in
``ApmConfig.ready`` (``register(apm.maintenance.services_in_maintenance)``); with no
answer registered (``ops`` installed alone) no service is ever in maintenance.

The SLO pass asks once per pass for all its services; the playbook asks before it
opens an incident or plans an action (docs/VERDICTS.md, "Maintenance windows"). The
beat's pass on PostgreSQL asks before it has read its SLOs (it reads, computes and
writes them in one statement): ``every_service_in_maintenance``, which an answer can
support by registering an ``every(at)`` beside its checker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

Checker = Callable[[Iterable[str], datetime], set[str]]
Lister = Callable[[datetime], set[str]]
_checkers: list[Checker] = []
_listers: dict[Checker, Lister] = {}


def register(checker: Checker, every: Lister | None = None) -> None:
    """Add ``checker(service_ids, at) -> the ids among them in maintenance at at``;
    ``every(at)``, when given, is the same answer for every service (all the ids)."""
    if checker not in _checkers:
        _checkers.append(checker)
    if every is not None:
        _listers[checker] = every


def every_service_in_maintenance(at: datetime) -> set[str] | None:
    """Every service id inside a maintenance window at ``at``; None when a registered
    answer cannot list them (the caller asks ``services_in_maintenance`` with its ids)."""
    if any(checker not in _listers for checker in _checkers):
        return None
    found: set[str] = set()
    for checker in _checkers:
        found |= _listers[checker](at)
    return found


def services_in_maintenance(service_ids: Iterable[str], at: datetime) -> set[str]:
    """The ids among ``service_ids`` inside a maintenance window at ``at``."""
    ids = set(service_ids)
    found: set[str] = set()
    for checker in _checkers:
        if not ids - found:
            break
        found |= checker(ids - found, at)
    return found


def in_maintenance(service_id: str, at: datetime) -> bool:
    return service_id in services_in_maintenance([service_id], at)
