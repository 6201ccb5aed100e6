"""``Escalate``: the seed's escalation calls (``/api/v1/escalations/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hms_apm.api import _all_pages, _client
from hms_sdk import Client


class Escalate:
    """The seed's escalation calls (``/api/v1/escalations/``).

    ``send`` opens an escalation for the baseline, or, when one is already open
    (e.g. the watchdog opened it on the breach), updates its message and raises
    its level; the server routes it to its channels once per level.
    """

    @staticmethod
    def send(
        baseline_id: int,
        message: str,
        level: str = "critical",
        *,
        client: Client | None = None,
    ) -> dict[str, Any]:
        """The escalation as the API returns it; ``HmsApiError`` (400) names a bad field."""
        payload = {"baseline": baseline_id, "message": message, "level": level}
        return _client(client).post("escalations/", json=payload)

    @staticmethod
    def list(*, client: Client | None = None, **filters) -> list[dict[str, Any]]:
        """Escalations you may see; filters as the API's (``baseline``, ``status``, ``level``)."""
        return _all_pages(_client(client), "escalations/", filters)

    @staticmethod
    def acknowledge(
        escalation_id: int, note: str = "", *, client: Client | None = None
    ) -> dict[str, Any]:
        return _client(client).post(
            f"escalations/{escalation_id}/acknowledge/", json={"note": note}
        )

    @staticmethod
    def resolve(
        escalation_id: int, note: str = "", *, client: Client | None = None
    ) -> dict[str, Any]:
        return _client(client).post(f"escalations/{escalation_id}/resolve/", json={"note": note})

    @staticmethod
    def snooze(
        escalation_id: int,
        until: datetime | str,
        note: str = "",
        *,
        client: Client | None = None,
    ) -> dict[str, Any]:
        """No reminders until ``until`` (an aware datetime or ISO-8601), with a note."""
        when = until.isoformat() if isinstance(until, datetime) else until
        return _client(client).post(
            f"escalations/{escalation_id}/snooze/", json={"until": when, "note": note}
        )
