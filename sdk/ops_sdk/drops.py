"""Counting what the emitter drops, and telling the server.

A sample is dropped when the buffer is full (the oldest goes). ``Drops`` keeps the
total, the counts per service not yet told to the server, and logs one warning a
second at most. The counts not yet told ride on the next request as
``X-HMS-Dropped: <service>=<count>, ...`` (a bare ``<count>`` is the ingest key's
own service, for samples sent without ``service``); they are taken off only when
that request was accepted, so a count is told once. Not thread-safe: the emitter
calls it under its lock.
"""

from __future__ import annotations

import collections
import logging
import time

HEADER = "X-HMS-Dropped"
WARN_EVERY = 1.0

log = logging.getLogger("ops_sdk")


class Drops:
    def __init__(self, max_buffer: int):
        self.max_buffer = max_buffer
        self.total = 0
        self.untold: collections.Counter = collections.Counter()
        self._warned_at = float("-inf")

    def count(self, service: str | None) -> None:
        self.total += 1
        self.untold[service or ""] += 1  # "": the ingest key's own service
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(
                "ops_sdk: buffer full (%d samples), %d dropped so far; the server is told",
                self.max_buffer,
                self.total,
            )

    def take(self) -> dict[str, int]:
        """The counts to tell with the next request (then no longer counted as untold)."""
        taken, self.untold = dict(self.untold), collections.Counter()
        return taken

    def give_back(self, taken: dict[str, int]) -> None:
        """The request did not get through: tell them with a later one."""
        self.untold.update(taken)


def header_value(counts: dict[str, int]) -> str:
    """``{"svc": 3, "": 2}`` -> ``"svc=3, 2"`` ("" is the ingest key's service)."""
    return ", ".join(f"{service}={n}" if service else str(n) for service, n in counts.items() if n)
