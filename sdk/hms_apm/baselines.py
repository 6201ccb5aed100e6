"""Baselines (``/api/v1/baselines/``) and programs (``/api/v1/programs/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from hms_apm.api import _all_pages, _client
from hms_sdk import Client


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
