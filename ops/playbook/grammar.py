"""The playbook grammar: turn the ``playbook:`` section of an ``.ops.yaml`` into typed steps.

A step is ``{if: CONDITION, then: ACTIONS}`` or ``{always: ..., <action>: ARGS}``
(see docs/PLAYBOOK.md). Conditions and actions are looked up in the registries
``CONDITIONS`` and ``ACTIONS``: one dataclass per kind, each with a ``parse``
classmethod. The playbook runner (another module) adds execution per class;
nothing here has side effects.

Every problem raises ``PlaybookError`` with the step index and the YAML line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import ClassVar

_TOKEN = re.compile(r"[^\s,]+")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


class PlaybookError(ValueError):
    def __init__(self, message: str, *, index: int | None = None, line: int | None = None):
        self.message = message
        self.index = index
        self.line = line
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}")


# --- arguments ------------------------------------------------------------------------


def _split_args(text: str) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    keywords: dict[str, str] = {}
    tokens: list[str] = []
    for word in _TOKEN.findall(text):
        if word == "%" and tokens:  # "20 %" is "20%"
            tokens[-1] += word
        else:
            tokens.append(word)
    for token in tokens:
        if "=" in token:
            key, _, value = token.partition("=")
            if not key or not value:
                raise PlaybookError(f"{token!r} must be written key=value")
            if key in keywords:
                raise PlaybookError(f"{key!r} is given twice")
            keywords[key] = value
        else:
            positional.append(token)
    return positional, keywords


def _number(text: str, what: str) -> float:
    cleaned = text.strip().lstrip("$").rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        raise PlaybookError(f"{what} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise PlaybookError(f"{what} must be a finite number, got {text!r}")
    return value


def _positive_int(text: str, what: str) -> int:
    value = _number(text, what)
    if value != int(value) or value < 1:
        raise PlaybookError(f"{what} must be a whole number of at least 1, got {text!r}")
    return int(value)


def _duration_seconds(amount: str, unit: str | None) -> int:
    seconds = _positive_int(amount, "duration")
    factor = {None: 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "m": 60}
    factor |= {"minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}
    if unit not in factor:
        raise PlaybookError(f"unknown time unit {unit!r} (use s, min or h)")
    return seconds * factor[unit]


# --- actions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One thing a step does. ``positional`` names the arguments that may be given without key=."""

    keyword: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, text: str) -> Action:
        positional, keywords = _split_args(text)
        if len(positional) > len(cls.positional):
            extra = " ".join(positional[len(cls.positional) :])
            raise PlaybookError(f"{cls.keyword}: unexpected {extra!r}")
        for name, value in zip(cls.positional, positional, strict=False):
            if name in keywords:
                raise PlaybookError(f"{cls.keyword}: {name} is given twice")
            keywords[name] = value
        allowed = set(cls.required) | set(cls.optional)
        unknown = sorted(set(keywords) - allowed)
        if unknown:
            raise PlaybookError(
                f"{cls.keyword}: unknown argument {unknown[0]!r} "
                f"(allowed: {', '.join(sorted(allowed)) or 'none'})"
            )
        missing = [name for name in cls.required if name not in keywords]
        if missing:
            raise PlaybookError(f"{cls.keyword}: {missing[0]} is required")
        return cls(**cls.convert(keywords))

    @classmethod
    def convert(cls, arguments: dict[str, str]) -> dict:
        return arguments

    def to_dict(self) -> dict:
        return {"action": self.keyword, **asdict(self)}


@dataclass(frozen=True)
class ScaleUp(Action):
    keyword = "scale_up"
    positional = ("compute",)
    required = ("compute",)
    optional = ("deployment", "namespace")
    compute: int = 1
    deployment: str = ""
    namespace: str = ""

    @classmethod
    def convert(cls, arguments):
        return {**arguments, "compute": _positive_int(arguments["compute"], "compute")}


@dataclass(frozen=True)
class ScaleDown(Action):
    """``scale_down compute=2`` (or ``=-2``): remove replicas, never below ``min_replicas``."""

    keyword = "scale_down"
    positional = ("compute",)
    required = ("compute",)
    optional = ("deployment", "namespace")
    compute: int = 1
    deployment: str = ""
    namespace: str = ""

    @classmethod
    def convert(cls, arguments):
        amount = arguments["compute"].strip()
        amount = amount[1:] if amount.startswith("-") else amount
        return {**arguments, "compute": _positive_int(amount, "compute")}


@dataclass(frozen=True)
class Page(Action):
    keyword = "page"
    positional = ("channel",)
    required = ("channel",)
    optional = ("severity", "message")
    SEVERITIES: ClassVar[tuple[str, ...]] = ("info", "warning", "critical")
    channel: str = ""
    severity: str = "critical"
    message: str = ""

    @classmethod
    def convert(cls, arguments):
        severity = arguments.get("severity", "critical")
        if severity not in cls.SEVERITIES:
            raise PlaybookError(f"page: severity must be one of {', '.join(cls.SEVERITIES)}")
        return {**arguments, "severity": severity}


@dataclass(frozen=True)
class LogTo(Action):
    keyword = "log_to"
    positional = ("destination",)
    required = ("destination",)
    optional = ("topic",)
    destination: str = ""
    topic: str = "ops.incident"


@dataclass(frozen=True)
class Rollback(Action):
    keyword = "rollback"
    positional = ("target",)
    required = ("target",)
    optional = ("deployment", "namespace")
    target: str = ""
    deployment: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Throttle(Action):
    keyword = "throttle"
    positional = ("target", "percent")
    required = ("target", "percent")
    target: str = ""
    percent: float = 0.0

    @classmethod
    def convert(cls, arguments):
        percent = _number(arguments["percent"], "throttle percent")
        if not 0 < percent <= 100:
            raise PlaybookError("throttle: percent must be between 0 and 100")
        return {**arguments, "percent": percent}


@dataclass(frozen=True)
class Isolate(Action):
    keyword = "isolate"
    positional = ("target",)
    required = ("target",)
    optional = ("name", "namespace")
    target: str = ""
    name: str = ""
    namespace: str = ""


ACTIONS: dict[str, type[Action]] = {
    cls.keyword: cls for cls in (ScaleUp, ScaleDown, Page, LogTo, Rollback, Throttle, Isolate)
}


def parse_action(text: str) -> Action:
    text = text.strip()
    keyword, _, rest = text.partition(" ")
    if keyword not in ACTIONS:
        raise PlaybookError(f"unknown action {keyword!r} (known: {', '.join(sorted(ACTIONS))})")
    return ACTIONS[keyword].parse(rest)


# --- conditions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    keyword: ClassVar[str]

    def to_dict(self) -> dict:
        return {"condition": self.keyword, **asdict(self)}


@dataclass(frozen=True)
class SloBreach(Condition):
    """The service's SLO has just become ``breached``."""

    keyword = "slo_breach"

    @classmethod
    def parse(cls, args: str) -> SloBreach:
        if args:
            raise PlaybookError(f"slo_breach takes no argument, got {args!r}")
        return cls()


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
        return cls(seconds=_duration_seconds(match.group(1), match.group(2)))


@dataclass(frozen=True)
class Recovered(Condition):
    """The incident's SLO is back to ``healthy`` (the incident is resolved)."""

    keyword = "recovered"

    @classmethod
    def parse(cls, args: str) -> Recovered:
        if args:
            raise PlaybookError(f"recovered takes no argument, got {args!r}")
        return cls()


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
            for_seconds = _duration_seconds(match.group("amount"), match.group("unit"))
        return cls(
            metric=match.group("metric"),
            op=match.group("op"),
            value=_number(raw_value, "threshold"),
            unit=unit,
            for_seconds=for_seconds,
        )


@dataclass(frozen=True)
class Event(Condition):
    """A named event reported for the service, e.g. ``unauthorized_login``."""

    keyword = "event"
    name: str = ""


CONDITIONS: dict[str, type[Condition]] = {
    cls.keyword: cls for cls in (SloBreach, StillBreachAfter, Recovered, MetricThreshold, Event)
}
# Keyword conditions are written as "keyword [args]"; the others are recognised by shape.
_KEYWORD_CONDITIONS = {
    "slo_breach": SloBreach,
    "still_breach_after": StillBreachAfter,
    "recovered": Recovered,
}


def parse_condition(text: str) -> Condition:
    text = " ".join(text.split())
    if any(op in text for op in MetricThreshold.OPERATORS):
        return MetricThreshold.parse(text)
    keyword, _, rest = text.partition(" ")
    if keyword in _KEYWORD_CONDITIONS:
        return _KEYWORD_CONDITIONS[keyword].parse(rest)
    if rest or not _NAME.match(keyword):
        raise PlaybookError(
            f"cannot read condition {text!r}; use slo_breach, still_breach_after N, "
            "'metric > value [for N min]' or an event name"
        )
    return Event(name=keyword)


# --- steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """``condition`` is None for an ``always`` step."""

    condition: Condition | None
    actions: tuple[Action, ...]
    line: int | None = None
    index: int = 0

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "line": self.line,
            "condition": self.condition.to_dict() if self.condition else {"condition": "always"},
            "actions": [action.to_dict() for action in self.actions],
        }


def _actions_from(value, index: int, line: int | None) -> tuple[Action, ...]:
    if isinstance(value, str):
        texts = [part for part in value.split("&") if part.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        texts = value
    else:
        raise PlaybookError("then: must be an action or a list of actions", index=index, line=line)
    if not texts:
        raise PlaybookError("then: names no action", index=index, line=line)
    return tuple(parse_action(text) for text in texts)


def _always_actions(step: dict) -> tuple[Action, ...]:
    """``always`` as written in the seed: ``{"always": None, "log_to": "HMS-DTA"}``;
    also ``always: log_to HMS-DTA`` and ``always: {log_to: HMS-DTA}``."""
    body = step.get("always")
    inline = {k: v for k, v in step.items() if k != "always"}
    if isinstance(body, dict):
        inline = {**body, **inline}
        body = None
    texts: list[str] = []
    if isinstance(body, str):
        texts.extend(part for part in body.split("&") if part.strip())
    elif isinstance(body, list):
        texts.extend(str(item) for item in body)
    elif body is not None:
        raise PlaybookError("always: must be empty, an action or a list of actions")
    for keyword, args in inline.items():
        if keyword not in ACTIONS:
            raise PlaybookError(
                f"unknown action {keyword!r} in always step (known: {', '.join(sorted(ACTIONS))})"
            )
        texts.append(f"{keyword} {'' if args is None else args}")
    if not texts:
        raise PlaybookError("always: names no action")
    return tuple(parse_action(text) for text in texts)


def parse_step(step, index: int, line: int | None = None) -> Step:
    try:
        if not isinstance(step, dict):
            raise PlaybookError("a step must be a mapping (if/then or always)")
        if "always" in step:
            if "if" in step or "then" in step:
                raise PlaybookError("a step is either always: or if:/then:, not both")
            return Step(None, _always_actions(step), line, index)
        unknown = sorted(set(step) - {"if", "then"})
        if unknown:
            raise PlaybookError(f"unknown key {unknown[0]!r} in step (use if/then or always)")
        if "if" not in step or "then" not in step:
            raise PlaybookError("a step needs both if: and then:")
        if not isinstance(step["if"], str) or not step["if"].strip():
            raise PlaybookError("if: must be a condition written as text")
        return Step(
            parse_condition(step["if"]), _actions_from(step["then"], index, line), line, index
        )
    except PlaybookError as exc:
        raise PlaybookError(exc.message, index=index, line=exc.line or line) from None


def parse_playbook(steps: list, lines: dict | None = None) -> list[Step]:
    """Parse every step; ``lines`` maps ``("playbook", i)`` to the step's YAML line."""
    lines = lines or {}
    return [parse_step(step, i, lines.get(("playbook", i))) for i, step in enumerate(steps)]
