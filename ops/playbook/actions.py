"""Playbook actions: one typed dataclass per keyword, found through ``ACTIONS``.

What each one does is in ``ops.playbook.executors`` (one executor class per keyword).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

from ops.playbook.parsing import PlaybookError, duration_seconds, number, positive_int, split_args

REPEAT_RE = re.compile(r"\brepeat\s*[:=]\s*(\d+)\s*([A-Za-z]+)?")
REPEAT_VALUE_RE = re.compile(r"^(\d+)([A-Za-z]+)?$")


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
class ScaleDown(ScaleUp):
    """``scale_down compute=2`` (or ``=-2``): remove replicas, never below ``min_replicas``."""

    keyword = "scale_down"

    @classmethod
    def convert(cls, arguments):
        amount = arguments["compute"].strip()
        amount = amount[1:] if amount.startswith("-") else amount
        return {**arguments, "compute": positive_int(amount, "compute")}


@dataclass(frozen=True)
class Page(Action):
    """``page channel=tsa_ops, severity=critical, repeat: 30 min`` (``repeat`` optional:
    page again this often while the incident stays open; ``ops.playbook.repeats``)."""

    keyword = "page"
    positional = ("channel",)
    required = ("channel",)
    optional = ("severity", "message", "repeat")
    SEVERITIES: ClassVar[tuple[str, ...]] = ("info", "warning", "critical")
    REPEAT_MIN_SECONDS: ClassVar[int] = 60
    channel: str = ""
    severity: str = "critical"
    message: str = ""
    repeat: int = 0  # seconds; 0: page once

    def to_dict(self) -> dict:
        data = super().to_dict()
        if not self.repeat:  # a page without repeat stores as it always did
            del data["repeat"]
        return data

    @classmethod
    def parse(cls, text: str) -> Action:
        # "repeat: 30 min" / "repeat=30 min" / "repeat=30min" all read as repeat=30min
        return super().parse(REPEAT_RE.sub(lambda m: f"repeat={m[1]}{m[2] or ''}", text))

    @classmethod
    def convert(cls, arguments):
        severity = arguments.get("severity", "critical")
        if severity not in cls.SEVERITIES:
            raise PlaybookError(f"page: severity must be one of {', '.join(cls.SEVERITIES)}")
        converted = {**arguments, "severity": severity}
        if "repeat" in arguments:
            match = REPEAT_VALUE_RE.match(arguments["repeat"])
            if not match:
                raise PlaybookError(
                    f"page: repeat must be a duration such as 30 min, got {arguments['repeat']!r}"
                )
            seconds = duration_seconds(match[1], match[2] or None)
            if seconds < cls.REPEAT_MIN_SECONDS:
                raise PlaybookError("page: repeat at most once a minute (e.g. repeat: 30 min)")
            converted["repeat"] = seconds
        return converted


def with_repeat(actions: tuple[Action, ...], value) -> tuple[Action, ...]:
    """A step's ``repeat: 30 min`` key: every ``page`` of the step repeats that often."""
    pages = [a for a in actions if isinstance(a, Page)]
    if not pages:
        raise PlaybookError("repeat: applies to page actions, and this step has none")
    seconds = Page.convert({"channel": "-", "repeat": str(value).replace(" ", "")})["repeat"]
    return tuple(replace(a, repeat=seconds) if isinstance(a, Page) else a for a in actions)


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
