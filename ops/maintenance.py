"""Is a service in maintenance? The question ``ops`` asks, answered by whoever registers.

``ops`` never imports ``apm``, where ``MaintenanceWindow`` lives (a window may cover a
program or a baseline as well as a service). ``apm`` registers its answer in
``ApmConfig.ready`` (``register(apm.maintenance.services_in_maintenance)``); with no
answer registered (``ops`` installed alone) no service is ever in maintenance.

The SLO pass asks once per pass for all its services; the playbook asks before it
opens an incident or plans an action (docs/VERDICTS.md, "Maintenance windows").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

Checker = Callable[[Iterable[str], datetime], set[str]]
_checkers: list[Checker] = []


def register(checker: Checker) -> None:
    """Add ``checker(service_ids, at) -> the ids among them in maintenance at at``."""
    if checker not in _checkers:
        _checkers.append(checker)


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
