"""``Watchdog``: run baselines now (``compare``, ``run_once``) or on a cron (``schedule``,
``serve``).

A single run is rate limited per user on the server (``HMS_RUN_RATE``, 60/min by
default): a 429 is waited out — the one back-off of ``hms_sdk.retry``, never before
the server's ``Retry-After`` — and retried at most ``RUN_ATTEMPTS`` times in all, so
``run_once`` over more baselines than the rate allows slows down instead of failing.
``Watchdog.queue`` hands many baselines to the server's worker in one request instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hms_apm.api import _client, _iso
from hms_apm.baselines import Baseline
from hms_apm.schedule import next_fire, parse_cron
from hms_sdk import Client, HmsApiError
from hms_sdk.retry import backoff, parse_retry_after

log = logging.getLogger("hms_apm")

RUN_ATTEMPTS = 5
RUN_BACKOFF_SECONDS = 1.0
RUN_BACKOFF_MAX_SECONDS = 60.0
MAX_QUEUED_PER_REQUEST = 500  # the server's MAX_BULK_RUN (apm/api/serializers.py)


@dataclass
class _Job:
    function: Callable[[], Any]
    cron: str


class Watchdog:
    """Run baselines now (``compare``, ``run_once``) or on a cron (``schedule`` + ``serve``)."""

    jobs: list[_Job] = []

    sleep: Callable[[float], None] = staticmethod(time.sleep)

    @classmethod
    def run(
        cls, baseline_id: int, *, at: datetime | str | None = None, client: Client | None = None
    ) -> dict[str, Any]:
        """Run one baseline now on the server; the new deviation as the API returns it.

        A 429 (the server's ``HMS_RUN_RATE``) is waited out and retried, at most
        ``RUN_ATTEMPTS`` attempts in all; the last 429 is raised as ``HmsApiError``.
        """
        client = _client(client)
        for attempt in range(1, RUN_ATTEMPTS + 1):
            try:
                return client.post(f"baselines/{baseline_id}/run/", json=_iso(at))
            except HmsApiError as exc:
                if exc.status != 429 or attempt == RUN_ATTEMPTS:
                    raise
                wait = backoff(
                    attempt,
                    RUN_BACKOFF_SECONDS,
                    RUN_BACKOFF_MAX_SECONDS,
                    parse_retry_after(exc.retry_after),
                )
                log.info("baseline %s: rate limited, retrying in %.1f s", baseline_id, wait)
                cls.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    @classmethod
    def queue(cls, baseline_ids: list[int], *, client: Client | None = None) -> list[int]:
        """Hand runs of many baselines to the server's worker in one request (no rate limit
        per baseline; the deviations appear as the worker records them); the queued ids."""
        client = _client(client)
        queued: list[int] = []
        for start in range(0, len(baseline_ids), MAX_QUEUED_PER_REQUEST):
            chunk = list(baseline_ids[start : start + MAX_QUEUED_PER_REQUEST])
            queued += client.post("baselines/run/", json={"baselines": chunk})["queued"]
        return queued

    @classmethod
    def compare(
        cls, baseline_id: int, *, at: datetime | str | None = None, client: Client | None = None
    ) -> float:
        """Run one baseline now; its deviation in % (positive = worse; 100 when no data)."""
        return float(cls.run(baseline_id, at=at, client=client)["deviation_pct"])

    @classmethod
    def run_once(
        cls, *, program_id: int | None = None, queued: bool = False, client: Client | None = None
    ) -> list[dict[str, Any]] | list[int]:
        """Run every active baseline you may see (or those of ``program_id``) once, in the
        request (each waits out the server's run rate limit, see ``run``); the deviations.

        ``queued=True`` hands them all to the server's worker instead (``queue``, one
        request per 500) and returns their ids at once."""
        client = _client(client)
        filters: dict[str, Any] = {"active": "true"}
        if program_id is not None:
            filters["program"] = program_id
        baselines = Baseline.list(client=client, **filters)
        if queued:
            return cls.queue([b.id for b in baselines], client=client)
        return [cls.run(b.id, client=client) for b in baselines]

    @classmethod
    def schedule(
        cls, cron: str, *, baseline_id: int | None = None, client: Client | None = None
    ) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
        """Decorator: the seed's ``@Watchdog.schedule(cron="0 2 * * *")``.

        Sets the server-side ``schedule`` of ``baseline_id`` (default: the baseline
        this process last created with ``Baseline.create``), so the server runs and
        escalates it at those times with nothing left running here; the function is
        also called at ``cron`` while ``serve()`` runs. A bad expression raises
        ``CronError`` naming the field; one the server refuses, ``HmsApiError``.
        """
        parse_cron(cron)
        if baseline_id is None and Baseline.last_created is not None:
            baseline_id = Baseline.last_created.id

        def register(function: Callable[[], Any]) -> Callable[[], Any]:
            if baseline_id is not None:
                function.baseline = Baseline.set_schedule(baseline_id, cron, client=client)
            cls.jobs.append(_Job(function, cron))
            return function

        return register

    @classmethod
    def serve(
        cls,
        *,
        max_runs: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> int:
        """Block, calling each scheduled function at its cron times; returns the runs made.

        A function that raises is logged and runs again at its next time. A time
        missed by more than a minute (the machine slept) is skipped, as cron does.
        ``max_runs`` stops after that many calls (``None``: forever).
        """
        if not cls.jobs:
            raise RuntimeError("nothing scheduled: decorate a function with @Watchdog.schedule")
        runs = 0
        start = now()
        due = {id(job): next_fire(job.cron, start) for job in cls.jobs}
        while max_runs is None or runs < max_runs:
            moment = min(due.values())
            wait = (moment - now()).total_seconds()
            if wait > 0:
                sleep(min(wait, 60.0))  # re-check at least every minute (clock changes)
                continue
            late = (now() - moment).total_seconds() > 60
            for job in cls.jobs:
                if due[id(job)] != moment or (max_runs is not None and runs >= max_runs):
                    continue
                if late:
                    log.warning("skipped %s at %s: missed", job.function.__name__, moment)
                    due[id(job)] = next_fire(job.cron, now())
                    continue
                try:
                    job.function()
                except Exception:
                    log.exception("scheduled check %s failed", job.function.__name__)
                runs += 1
                due[id(job)] = next_fire(job.cron, moment)
        return runs

    @classmethod
    def clear(cls) -> None:
        """Forget every scheduled function and the last created baseline (e.g. between tests)."""
        cls.jobs.clear()
        Baseline.last_created = None
