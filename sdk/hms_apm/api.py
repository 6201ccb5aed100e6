"""What every ``hms_apm`` class shares: the client to use, ISO times, every page of a list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hms_sdk import Client, default_client


def _client(client: Client | None) -> Client:
    return client or default_client()


def _iso(at: datetime | str | None) -> dict[str, str]:
    if at is None:
        return {}
    return {"at": at.isoformat() if isinstance(at, datetime) else at}


def _all_pages(client: Client, path: str, params: dict[str, Any]) -> list[dict]:
    items: list[dict] = []
    params = {**params, "limit": 100, "offset": 0}
    while True:
        page = client.get(path, params=params)
        items.extend(page["results"])
        if not page.get("next"):
            return items
        params["offset"] += len(page["results"])
