"""Playbook actions: one typed dataclass per keyword, found through ``ACTIONS``.

What each one does is in ``ops.playbook.executors`` (one executor class per keyword).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from ops.playbook.parsing import PlaybookError, number, positive_int, split_args


class Action:
    """One thing a step does. ``positional`` names the arguments that may be given without key=."""

    keyword: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, text: str) -> Action:
        positional, keywords = split_args(text)
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
        return {**arguments, "compute": positive_int(arguments["compute"], "compute")}


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
        return {**arguments, "compute": positive_int(amount, "compute")}


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
        percent = number(arguments["percent"], "throttle percent")
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
