"""The seed's management layer, ``HmsAct.open_ticket(baseline_id, message, severity=level)``.

A ticket lands on management's desk (``POST /api/v1/tickets/``; the dashboard and
the admin list it). ``dedupe_key`` makes a retried call open the same ticket once.
"""

from __future__ import annotations

from typing import Any

from hms_sdk import Client, default_client


class HmsAct:
    @staticmethod
    def open_ticket(
        baseline_id: int,
        message: str,
        severity: str = "critical",
        *,
        title: str | None = None,
        dedupe_key: str | None = None,
        client: Client | None = None,
    ) -> dict[str, Any]:
        """The ticket as the API returns it (201 new, 200 when ``dedupe_key`` was seen)."""
        payload: dict[str, Any] = {
            "baseline": baseline_id,
            "body": message,
            "level": severity,
            "title": (title or (message.splitlines() or [""])[0])[:300],
        }
        if dedupe_key:
            payload["dedupe_key"] = dedupe_key
        return (client or default_client()).post("tickets/", json=payload)
