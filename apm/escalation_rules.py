"""The watchdog's escalation decision as a pure function: what one run does to a baseline's
escalation, given the level of the one open (or none).

``apm.escalations.on_deviation`` applies it to the database (locks, audit,
outbox); ``apm.backtest`` applies it to an in-memory state to count what a
candidate promise would have opened, raised and resolved. One rule, two callers:
docs/ESCALATIONS.md describes it, docs/VERDICTS.md the backtest.
"""

from __future__ import annotations

from dataclasses import dataclass

from apm.models.escalation import Level, level_for, level_rank

NOTHING, OPEN, COUNT, RAISE, RESOLVE = "nothing", "open", "count", "raise", "resolve"
# Statuses that are red: they open or count on an escalation (no data counts as 100 %).
RED_STATUSES = frozenset({"breach", "no_data", "error"})


@dataclass(frozen=True)
class Decision:
    action: str
    level: str | None = None  # the escalation's level after the run (None: none open)

    @property
    def announces(self) -> bool:
        """Opening or raising tells the routes that take the level (one message each)."""
        return self.action in (OPEN, RAISE)


def is_red(status: str) -> bool:
    return status in RED_STATUSES


def red_level(deviation_pct: float, threshold_pct: float) -> str:
    """The level a red run deserves; a red run within tolerance (no data at a large threshold)
    is still at least info."""
    return level_for(deviation_pct, threshold_pct) or Level.INFO


def decide(
    *,
    open_level: str | None,
    status: str,
    deviation_pct: float,
    threshold_pct: float,
    backfill: bool = False,
) -> Decision:
    """One run's effect on the escalation (``open_level``: the open one's level, or None).

    - a backfill (past-dated run) changes nothing;
    - ok: resolves the open one, else nothing;
    - red: opens one at its level, or counts on the open one, raising its level
      when the run's is higher;
    - any other status (e.g. too few samples) changes nothing.
    """
    if backfill:
        return Decision(NOTHING, open_level)
    if status == "ok":
        return Decision(RESOLVE, None) if open_level else Decision(NOTHING, None)
    if not is_red(status):
        return Decision(NOTHING, open_level)
    level = red_level(deviation_pct, threshold_pct)
    if open_level is None:
        return Decision(OPEN, level)
    if level_rank(level) > level_rank(open_level):
        return Decision(RAISE, level)
    return Decision(COUNT, open_level)
