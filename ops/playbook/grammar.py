"""The playbook grammar: turn the ``playbook:`` section of an ``.ops.yaml`` into typed steps.

A step is ``{if: CONDITION, then: ACTIONS}`` or ``{always: ..., <action>: ARGS}``
(see docs/PLAYBOOK.md). Conditions and actions are looked up in the registries
``CONDITIONS`` and ``ACTIONS``: one dataclass per kind, each with a ``parse``
classmethod. ``ops.playbook.executors`` adds execution per action;
nothing here has side effects.

Every problem raises ``PlaybookError`` with the step index and the YAML line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ops.playbook.actions import (  # noqa: F401 - re-exported: the grammar's public names
    ACTIONS,
    Action,
    Isolate,
    LogTo,
    Page,
    Rollback,
    ScaleDown,
    ScaleUp,
    Throttle,
    parse_action,
    with_repeat,
)
from ops.playbook.conditions import (  # noqa: F401
    CONDITIONS,
    Condition,
    Event,
    FastBurn,
    MetricThreshold,
    Recovered,
    SloBreach,
    SlowBurn,
    StillBreachAfter,
    parse_condition,
)
from ops.playbook.parsing import PlaybookError


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
        unknown = sorted(set(step) - {"if", "then", "repeat"})
        if unknown:
            raise PlaybookError(f"unknown key {unknown[0]!r} in step (use if/then or always)")
        if "if" not in step or "then" not in step:
            raise PlaybookError("a step needs both if: and then:")
        if not isinstance(step["if"], str) or not step["if"].strip():
            raise PlaybookError("if: must be a condition written as text")
        actions = _actions_from(step["then"], index, line)
        if "repeat" in step:
            actions = with_repeat(actions, step["repeat"])
        return Step(parse_condition(step["if"]), actions, line, index)
    except PlaybookError as exc:
        raise PlaybookError(exc.message, index=index, line=exc.line or line) from None


def parse_playbook(steps: list, lines: dict | None = None) -> list[Step]:
    """Parse every step; ``lines`` maps ``("playbook", i)`` to the step's YAML line."""
    lines = lines or {}
    return [parse_step(step, i, lines.get(("playbook", i))) for i, step in enumerate(steps)]
