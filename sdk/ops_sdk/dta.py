"""The seed's HMS-DTA vault: ``dta.find(topic="ops.incident")`` reads the audit log.

``GET /api/v1/audit/`` (oldest first); each entry has ``id``, ``topic``, ``at``,
``actor``, ``payload``, ``hash`` and ``prev_hash``. ``verify()`` checks the chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hms_sdk import Client, default_client


def find(
    topic: str | None = None,
    since: datetime | str | None = None,
    *,
    limit: int | None = None,
    client: Client | None = None,
) -> list[dict[str, Any]]:
    """Entries of ``topic`` (exact, e.g. ``ops.incident``, ``apm.escalation``) since ``since``.

    Every page is read unless ``limit`` caps the number of entries returned.
    """
    client = client or default_client()
    params: dict[str, Any] = {"limit": min(limit or 100, 100), "offset": 0}
    if topic:
        params["topic"] = topic
    if since is not None:
        params["since"] = since.isoformat() if isinstance(since, datetime) else since
    entries: list[dict[str, Any]] = []
    while limit is None or len(entries) < limit:
        page = client.get("audit/", params=params)
        entries.extend(page["results"])
        if not page.get("next") or not page["results"]:
            break
        params["offset"] += len(page["results"])
    return entries if limit is None else entries[:limit]


def verify(*, client: Client | None = None) -> dict[str, Any]:
    """``{"ok": true, "entries": N}`` or the first broken entry."""
    return (client or default_client()).get("audit/verify/")
