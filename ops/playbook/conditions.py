"""Playbook conditions: one typed dataclass per kind, found through ``CONDITIONS``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import ClassVar

from ops.playbook.parsing import NAME, PlaybookError, duration_seconds, number


class Condition:
    keyword: ClassVar[str]

    def to_dict(self) -> dict:
        return {"condition": self.keyword, **asdict(self)}


class NoArgument(Condition):
    """A condition written as its keyword alone (``slo_breach``, ``recovered``, …)."""

    @classmethod
    def parse(cls, args: str):
        if args:
            raise PlaybookError(f"{cls.keyword} takes no argument, got {args!r}")
        return cls()


@dataclass(frozen=True)
class SloBreach(NoArgument):
    """The service's SLO has just become ``breached``."""

    keyword = "slo_breach"


@dataclass(frozen=True)
class StillBreachAfter(Condition):
    """The SLO is still ``breached`` this many seconds after the breach began."""

    keyword = "still_breach_after"
    seconds: int = 60

    @classmethod
    def parse(cls, args: str) -> StillBreachAfter:
        match = re.fullmatch(r"(\S+?)\s*([A-Za-z]+)?", args)
        if not match:
            raise PlaybookError("still_breach_after needs a duration, e.g. still_breach_after 60")
        return cls(seconds=duration_seconds(match.group(1), match.group(2)))


@dataclass(frozen=True)
class Recovered(NoArgument):
    """The incident's SLO is back to ``healthy`` (the incident is resolved)."""

    keyword = "recovered"


@dataclass(frozen=True)
class MetricThreshold(Condition):
    """``metric OP value [for N min]``, e.g. ``error_rate > 2% for 5 min``."""

    keyword = "metric"
    OPERATORS: ClassVar[tuple[str, ...]] = (">=", "<=", ">", "<")
    PATTERN: ClassVar[re.Pattern] = re.compile(
        r"(?P<metric>[A-Za-z_:][A-Za-z0-9_:]*)\s*(?P<op>>=|<=|>|<)\s*(?P<value>\$?\s*[^\s%]+)"
        r"\s*(?P<percent>%)?(?:\s+for\s+(?P<amount>\S+?)\s*(?P<unit>[A-Za-z]+)?)?"
    )
    metric: str = ""
    op: str = ">"
    value: float = 0.0
    unit: str = ""
    for_seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> MetricThreshold:
        match = cls.PATTERN.fullmatch(text)
        if not match:
            raise PlaybookError(
                f"cannot read condition {text!r}; write e.g. 'error_rate > 2% for 5 min'"
            )
        raw_value = match.group("value").replace(" ", "")
        unit = "%" if match.group("percent") else ("$" if raw_value.startswith("$") else "")
        for_seconds = 0
        if match.group("amount"):
            for_seconds = duration_seconds(match.group("amount"), match.group("unit"))
        return cls(
            metric=match.group("metric"),
            op=match.group("op"),
            value=number(raw_value, "threshold"),
            unit=unit,
            for_seconds=for_seconds,
        )


@dataclass(frozen=True)
class FastBurn(NoArgument):
    """The SLO's error budget burns fast: 14.4x over 1 h and 5 min, or 6x over 6 h and 30 min
    (windows scaled to the SLO's ``budget_window``; see ``ops.budget.windows``). Page."""

    keyword = "fast_burn"


@dataclass(frozen=True)
class SlowBurn(NoArgument):
    """The error budget burns slowly but steadily: 3x over 1 d and 2 h, or 1x over 3 d and
    6 h (scaled like ``fast_burn``). A ticket, not a page."""

    keyword = "slow_burn"


@dataclass(frozen=True)
class Event(Condition):
    """A named event reported for the service, e.g. ``unauthorized_login``."""

    keyword = "event"
    name: str = ""


CONDITIONS: dict[str, type[Condition]] = {
    cls.keyword: cls
    for cls in (SloBreach, StillBreachAfter, Recovered, MetricThreshold, FastBurn, SlowBurn, Event)
}
# Keyword conditions are written as "keyword [args]"; the others are recognised by shape.
_KEYWORD_CONDITIONS = {
    "slo_breach": SloBreach,
    "still_breach_after": StillBreachAfter,
    "recovered": Recovered,
    "fast_burn": FastBurn,
    "slow_burn": SlowBurn,
}


def parse_condition(text: str) -> Condition:
    text = " ".join(text.split())
    if any(op in text for op in MetricThreshold.OPERATORS):
        return MetricThreshold.parse(text)
    keyword, _, rest = text.partition(" ")
    if keyword in _KEYWORD_CONDITIONS:
        return _KEYWORD_CONDITIONS[keyword].parse(rest)
    if rest or not NAME.match(keyword):
        raise PlaybookError(
            f"cannot read condition {text!r}; use slo_breach, still_breach_after N, fast_burn, "
            "slow_burn, "
            "'metric > value [for N min]' or an event name"
        )
    return Event(name=keyword)
