"""The APM SDK: the seed's ``Baseline.create``, ``Watchdog.compare``, ``Watchdog.run_once``
and ``Escalate.send``.

Only ``requests`` (through ``hms_sdk.Client``): importable without Django.
The server and token come from ``HMS_URL`` / ``HMS_TOKEN`` or ``hms_apm.configure(url, token)``;
every call also takes ``client=`` for a specific ``hms_sdk.Client``.

    from hms_apm import Baseline, Watchdog

    wait_time = Baseline.create(
        program="fast-track-housing", name="avg_wait_days", target_value=30, compare_op="le",
        probe_query="rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])",
    )

    @Watchdog.schedule(cron="0 2 * * *")   # the baseline's server-side schedule: 02:00 UTC
    def check_housing_wait():
        score = Watchdog.compare(baseline_id=wait_time.id)   # deviation in %, positive = worse
        print("Deviation:", score)

    Watchdog.serve()   # optional: also call the function itself at its cron times (blocks)

A query the server refuses (e.g. invalid PromQL) raises ``HmsApiError`` whose
``body`` names the field and carries Prometheus's message. The server runs every
baseline on its own ``schedule`` (django-celery-beat) and escalates a red one by
itself; ``Watchdog.schedule`` sets that schedule (on the baseline just created, or
``baseline_id=``), so a script needs no loop of its own. ``HmsAct.open_ticket``
puts a ticket on management's desk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from hms_apm.act import HmsAct
from hms_apm.schedule import CronError, next_fire, parse_cron
from hms_sdk import Client, HmsApiError, configure, default_client

__all__ = [
    "Baseline",
    "Client",
    "CronError",
    "Escalate",
    "HmsAct",
    "HmsApiError",
    "Program",
    "Watchdog",
    "configure",
]

log = logging.getLogger("hms_apm")


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


@dataclass
class Baseline:
    """A promise stored on the server (``/api/v1/baselines/``)."""

    id: int
    program: int
    name: str
    target_value: float
    compare_op: str
    probe_kind: str
    probe_query: str
    threshold_pct: float
    schedule: str
    active: bool
    probe_verified: bool = False
    probe_note: str = ""
    period: str = "rolling"
    period_tz: str = "UTC"
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def program_id(self) -> int:
        return self.program

    @classmethod
    def _from(cls, data: dict[str, Any]) -> Baseline:
        names = cls.__dataclass_fields__.keys() - {"data"}
        return cls(**{k: data[k] for k in names if k in data}, data=data)

    # The last baseline this process created: what a bare @Watchdog.schedule applies to.
    last_created: ClassVar[Baseline | None] = None

    @classmethod
    def create(
        cls,
        program_id: int | None = None,
        name: str = "",
        target_value: float | None = None,
        probe_query: str = "",
        compare_op: str = "le",
        probe_kind: str = "promql",
        threshold_pct: float | None = None,
        schedule: str | None = None,
        active: bool = True,
        *,
        program: int | str | None = None,
        client: Client | None = None,
    ) -> Baseline:
        """Create a baseline; ``HmsApiError`` (400, naming the field) when the server refuses it.

        The program is ``program_id=`` or ``program=`` (its id or its code, e.g.
        ``"fast-track-housing"``); a code you may not see raises ``LookupError``.
        """
        client = _client(client)
        if (program_id is None) == (program is None):
            raise TypeError("pass exactly one of program_id= and program=")
        payload: dict[str, Any] = {
            "program": program_id if program is None else Program.id_of(program, client=client),
            "name": name,
            "target_value": target_value,
            "compare_op": compare_op,
            "probe_kind": probe_kind,
            "probe_query": probe_query,
            "active": active,
        }
        if threshold_pct is not None:
            payload["threshold_pct"] = threshold_pct
        if schedule is not None:
            payload["schedule"] = schedule
        created = cls._from(client.post("baselines/", json=payload))
        Baseline.last_created = created
        return created

    @classmethod
    def set_schedule(cls, baseline_id: int, cron: str, *, client: Client | None = None) -> Baseline:
        """Change the baseline's server-side ``schedule`` (five-field cron, UTC)."""
        body = _client(client).patch(f"baselines/{baseline_id}/", json={"schedule": cron})
        return cls._from(body)

    @classmethod
    def get(cls, baseline_id: int, *, client: Client | None = None) -> Baseline:
        return cls._from(_client(client).get(f"baselines/{baseline_id}/"))

    @staticmethod
    def backtest(
        baseline_id: int,
        since: datetime | str,
        until: datetime | str,
        step: str | None = None,
        *,
        client: Client | None = None,
        **candidate: Any,
    ) -> dict[str, Any]:
        """What-if, on the server: the baseline replayed over ``since``..``until`` (ISO-8601
        or aware datetimes), every ``step`` (``30m``, ``6h``, ``1d``; default its schedule),
        with any candidate ``target_value``, ``compare_op``, ``threshold_pct``,
        ``min_samples``, ``period``. Returns ``evaluations``, ``breaches``,
        ``escalations_opened``, ``notifications``, ``leadership_reviews`` and ``points``;
        nothing is written. A bad value raises ``HmsApiError`` (400) naming the field.
        """
        allowed = {"target_value", "compare_op", "threshold_pct", "min_samples", "period"}
        unknown = sorted(set(candidate) - allowed)
        if unknown:
            raise TypeError(f"unknown candidate setting(s): {', '.join(unknown)}")
        payload: dict[str, Any] = {
            "since": since.isoformat() if isinstance(since, datetime) else since,
            "until": until.isoformat() if isinstance(until, datetime) else until,
            **candidate,
        }
        if step is not None:
            payload["step"] = step
        return _client(client).post(f"baselines/{baseline_id}/backtest/", json=payload)

    @classmethod
    def list(cls, *, client: Client | None = None, **filters) -> list[Baseline]:
        """Every baseline you may see; filters as the API's (``program``, ``active``, ...)."""
        return [cls._from(d) for d in _all_pages(_client(client), "baselines/", filters)]


class Program:
    """Programs (``/api/v1/programs/``): look one up by its code."""

    @staticmethod
    def get(program: int | str, *, client: Client | None = None) -> dict[str, Any]:
        client = _client(client)
        if isinstance(program, int):
            return client.get(f"programs/{program}/")
        found = client.get("programs/", params={"code": program})["results"]
        if not found:
            raise LookupError(f"program: no program with code {program!r} that you may see")
        return found[0]

    @classmethod
    def id_of(cls, program: int | str, *, client: Client | None = None) -> int:
        return program if isinstance(program, int) else cls.get(program, client=client)["id"]


@dataclass
class _Job:
    function: Callable[[], Any]
    cron: str


class Watchdog:
    """Run baselines now (``compare``, ``run_once``) or on a cron (``schedule`` + ``serve``)."""

    jobs: list[_Job] = []

    @staticmethod
    def run(
        baseline_id: int, *, at: datetime | str | None = None, client: Client | None = None
    ) -> dict[str, Any]:
        """Run one baseline now on the server; the new deviation as the API returns it."""
        return _client(client).post(f"baselines/{baseline_id}/run/", json=_iso(at))

    @classmethod
    def compare(
        cls, baseline_id: int, *, at: datetime | str | None = None, client: Client | None = None
    ) -> float:
        """Run one baseline now; its deviation in % (positive = worse; 100 when no data)."""
        return float(cls.run(baseline_id, at=at, client=client)["deviation_pct"])

    @classmethod
    def run_once(
        cls, *, program_id: int | None = None, client: Client | None = None
    ) -> list[dict[str, Any]]:
        """Run every active baseline you may see (or those of ``program_id``) once."""
        client = _client(client)
        filters: dict[str, Any] = {"active": "true"}
        if program_id is not None:
            filters["program"] = program_id
        return [cls.run(b.id, client=client) for b in Baseline.list(client=client, **filters)]

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
