"""Service definitions (``.ops.yaml``): parse, validate against the schema, explain errors.

``parse_definition(text_or_data)`` returns a ``ServiceDefinition`` or raises
``DefinitionError`` whose ``errors`` is ``{"field.path": ["line N: message"]}``,
the shape the API answers with. YAML text keeps line numbers; a JSON body (the
same shape, already decoded) gives field paths without lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

from ops.budget.windows import DEFAULT_WINDOW, BudgetWindowError
from ops.budget.windows import validate as validate_budget_window
from ops.outbound import outbound_problem
from ops.playbook.grammar import (
    FastBurn,
    MetricThreshold,
    PlaybookError,
    SlowBurn,
    Step,
    parse_step,
)
from ops.servicedef.schema import (
    DEFAULT_COOLDOWN_SECONDS,
    DEFAULT_MIN_SAMPLES,
    SERVICE_SCHEMA,
    TYPE_NAMES,
)
from ops.servicedef.yamlload import KEY_LINE, MAX_DEPTH, YamlError, load_yaml

_VALIDATOR = Draft202012Validator(SERVICE_SCHEMA)
DEFAULT_PERCENTILE = 95.0


class DefinitionError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class SensorDef:
    name: str
    scrape_url: str = ""
    help: str = ""
    labels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SloDef:
    target: str
    threshold: float
    window_seconds: int
    percentile: float = DEFAULT_PERCENTILE
    objective: float | None = None  # percent of good samples; None: no error budget
    budget_window: str = ""
    min_samples: int = DEFAULT_MIN_SAMPLES  # fewer (but some) samples: insufficient_data


@dataclass(frozen=True)
class KubernetesDef:
    """Where the service runs; every field optional (see docs/PLAYBOOK.md)."""

    deployment: str
    namespace: str = "default"
    cluster: str | None = None
    min_replicas: int = 1
    max_replicas: int = 10
    ingress: str = ""


def default_deployment(service_id: str) -> str:
    """``DCA_Luggage_Scanner`` -> ``dca-luggage-scanner`` (a valid Kubernetes name)."""
    name = re.sub(r"[^a-z0-9-]+", "-", service_id.lower()).strip("-")
    return name[:63].rstrip("-") or "service"


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    owner: str
    description: str
    sensors: tuple[SensorDef, ...]
    slo: SloDef
    playbook: tuple[Step, ...]
    document: dict
    source: str = ""
    kubernetes: KubernetesDef | None = None
    cooldown_seconds: int = DEFAULT_COOLDOWN_SECONDS


def field_name(path) -> str:
    """``("sensors", 0, "name")`` -> ``sensors[0].name``; the document itself -> ``document``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


class _Errors:
    def __init__(self, lines: dict):
        self.lines = lines
        self.errors: dict[str, list[str]] = {}

    def add(self, path, message: str, line: int | None = None) -> None:
        line = line or self._nearest_line(tuple(path))
        text = f"line {line}: {message}" if line else message
        self.errors.setdefault(field_name(path), []).append(text)

    def _nearest_line(self, path: tuple) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def _describe(error) -> list[tuple[tuple, str, int | None]]:
    """One jsonschema error -> [(path, message, line-or-None)] in our words."""
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed) if isinstance(error.instance, dict) else []
        if extra and allowed:
            known = ", ".join(sorted(allowed))
            return [
                ((*path, key), f"unknown key {key!r} (allowed: {known})", None) for key in extra
            ]
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [((*path, missing), "is required", None)]
    if validator == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        names = " or ".join(TYPE_NAMES.get(w, w) for w in wanted)
        return [(path, f"must be {names}, got {error.instance!r}", None)]
    if validator == "pattern":
        return [(path, f"{error.instance!r} does not match {error.validator_value}", None)]
    return [(path, error.message, None)]


def _cross_checks(data: dict, errors: _Errors, check_targets: bool) -> tuple[Step, ...]:
    threshold = data["slo"]["threshold"]
    if threshold != threshold or threshold in (float("inf"), float("-inf")):
        errors.add(("slo", "threshold"), f"must be a finite number, got {threshold!r}")
    kube = data.get("kubernetes") or {}
    if kube.get("min_replicas", 1) > kube.get("max_replicas", 10):
        errors.add(("kubernetes", "min_replicas"), "must not be more than max_replicas")
    names = [sensor["name"] for sensor in data["sensors"]]
    for i, name in enumerate(names):
        if name in names[:i]:
            errors.add(("sensors", i, "name"), f"sensor {name!r} is declared twice")
    for i, sensor in enumerate(data["sensors"] if check_targets else ()):
        problem = sensor.get("scrape_url") and outbound_problem(sensor["scrape_url"], "scrape")
        if problem:
            errors.add(("sensors", i, "scrape_url"), f"refused: {problem}")
    if data["slo"]["target"] not in names:
        errors.add(
            ("slo", "target"),
            f"{data['slo']['target']!r} is not one of the sensors ({', '.join(names)})",
        )
    _budget_checks(data["slo"], errors)
    steps = []
    for i, raw in enumerate(data.get("playbook") or []):
        try:
            step = parse_step(raw, i, errors.lines.get(("playbook", i)))
        except PlaybookError as exc:
            errors.add(("playbook", i), exc.message, exc.line)
            continue
        if isinstance(step.condition, MetricThreshold) and step.condition.metric not in names:
            errors.add(
                ("playbook", i, "if"),
                f"metric {step.condition.metric!r} is not one of the sensors",
            )
        if isinstance(step.condition, FastBurn | SlowBurn) and "objective" not in data["slo"]:
            errors.add(
                ("playbook", i, "if"),
                f"{step.condition.keyword} needs an error budget: set slo.objective "
                "(e.g. objective: 99.5)",
            )
        steps.append(step)
    return tuple(steps)


def _budget_checks(slo: dict, errors: _Errors) -> None:
    if "budget_window" not in slo:
        return
    if "objective" not in slo:
        errors.add(("slo", "budget_window"), "needs an objective (e.g. objective: 99.5)")
    try:
        validate_budget_window(slo["budget_window"])
    except BudgetWindowError as exc:
        errors.add(("slo", "budget_window"), str(exc))


def _kubernetes(data: dict) -> KubernetesDef:
    block = data.get("kubernetes") or {}
    return KubernetesDef(
        deployment=block.get("deployment") or default_deployment(data["id"]),
        namespace=block.get("namespace", "default"),
        cluster=block.get("cluster"),
        min_replicas=int(block.get("min_replicas", 1)),
        max_replicas=int(block.get("max_replicas", 10)),
        ingress=block.get("ingress", ""),
    )


def _too_deep(data) -> bool:
    """Depth of already-decoded data (JSON bodies), measured without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def parse_definition(
    source: str | bytes | dict, *, check_targets: bool = True
) -> ServiceDefinition:
    """Validate a whole definition; raise ``DefinitionError`` listing every problem found.

    ``check_targets``: each ``scrape_url`` through the outbound guard (it resolves
    names). Off only for a definition already stored (the playbook runner re-reads
    it): the scraper checks the address again when it connects anyway.
    """
    text = ""
    if isinstance(source, str | bytes):
        try:
            data, lines = load_yaml(source)
        except YamlError as exc:
            message = f"line {exc.line}: {exc.message}" if exc.line else exc.message
            raise DefinitionError({"document": [message]}) from None
        text = source.decode("utf-8") if isinstance(source, bytes) else source
    else:
        data, lines = source, {}
        if _too_deep(data):
            raise DefinitionError({"document": [f"nested deeper than {MAX_DEPTH} levels"]})
    errors = _Errors(lines)
    if not isinstance(data, dict):
        errors.add((), "must be a mapping with id, owner, sensors, slo and playbook")
        raise DefinitionError(errors.errors)
    for error in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.path))):
        for path, message, line in _describe(error):
            key_line = lines.get((*path, KEY_LINE)) if path else None
            errors.add(path, message, line or key_line)
    if errors.errors:
        raise DefinitionError(errors.errors)
    steps = _cross_checks(data, errors, check_targets)
    if errors.errors:
        raise DefinitionError(errors.errors)
    slo = data["slo"]
    return ServiceDefinition(
        id=data["id"],
        owner=data["owner"],
        description=data.get("description", ""),
        sensors=tuple(
            SensorDef(s["name"], s.get("scrape_url", ""), s.get("help", ""), s.get("labels", {}))
            for s in data["sensors"]
        ),
        slo=SloDef(
            target=slo["target"],
            threshold=float(slo["threshold"]),
            window_seconds=int(slo["window_seconds"]),
            percentile=float(slo.get("percentile", DEFAULT_PERCENTILE)),
            objective=float(slo["objective"]) if "objective" in slo else None,
            budget_window=slo.get("budget_window", DEFAULT_WINDOW if "objective" in slo else ""),
            min_samples=int(slo.get("min_samples", DEFAULT_MIN_SAMPLES)),
        ),
        playbook=steps,
        kubernetes=_kubernetes(data),
        cooldown_seconds=int(data.get("cooldown_seconds", DEFAULT_COOLDOWN_SECONDS)),
        document=json.loads(json.dumps(data, default=str)),
        source=text,
    )
