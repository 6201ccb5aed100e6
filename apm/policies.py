"""Escalation policies: load the seed's YAML, save them (audited), and apply them daily.

    - baseline: avg_wait_days          # name (unique per program) or id
      program: fast-track-housing      # optional; needed when the name is ambiguous
      after_days_no_fix: 14
      action: "recommend_leadership_review"

A *fix* is the escalation being resolved: by a person, or automatically when a
run finds the baseline back to ok. ``apply_policies(now)`` opens ONE
leadership-review ticket per policy and red streak (= per escalation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apm import config_audit, maintenance, tickets
from apm.models import Baseline, Escalation, EscalationPolicy, Ticket
from ops.servicedef import yamlload
from ops.servicedef.yamlload import KEY_LINE, YamlError, load_yaml

MAX_DOCUMENT_BYTES = yamlload.MAX_DOCUMENT_BYTES
MAX_POLICIES = 500
KEYS = ("baseline", "program", "after_days_no_fix", "action", "active")


class PolicyError(ValueError):
    """Bad policy input; ``errors`` maps a field to messages that name the YAML line."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


def _fail(field: str, message: str, line: int | None = None):
    raise PolicyError({field: [f"line {line}: {message}" if line else message]})


@dataclass
class PolicySpec:
    """One entry: raw values with their lines ``{key: (value, line)}``, and its own line."""

    line: int | None
    fields: dict


def parse_yaml(text: str | bytes) -> list[PolicySpec]:
    """The entries of a policy document (OPS' line-aware loader: no aliases, bounded size)."""
    try:
        data, lines = load_yaml(text)
    except YamlError as exc:
        _fail("yaml", exc.message, exc.line)
    if isinstance(data, dict):
        items, paths = [data], [()]
    elif isinstance(data, list):
        items, paths = data, [(i,) for i in range(len(data))]
    else:
        _fail("yaml", "expected a list of policies", lines.get(()))
    if not items:
        _fail("yaml", "the document holds no policies", lines.get(()))
    if len(items) > MAX_POLICIES:
        _fail("yaml", f"at most {MAX_POLICIES} policies per document", lines.get(()))
    specs = []
    for item, path in zip(items, paths, strict=True):
        if not isinstance(item, dict):
            _fail(
                "yaml",
                "each policy is a mapping (baseline, after_days_no_fix, action)",
                lines.get(path),
            )
        fields = {}
        for key, value in item.items():
            if key not in KEYS:
                _fail(
                    key,
                    f"unknown key {key!r}; known: {', '.join(KEYS)}",
                    lines.get((*path, key, KEY_LINE)),
                )
            if isinstance(value, dict | list):
                _fail(key, "must be a single value", lines.get((*path, key)))
            fields[key] = (value, lines.get((*path, key)))
        specs.append(PolicySpec(lines.get(path), fields))
    return specs


def find_baseline(ref, program_code=None, *, line=None, queryset=None) -> Baseline:
    """A baseline by id, or by name (unique per program; ``program`` decides an ambiguous one)."""
    queryset = Baseline.objects.select_related("program") if queryset is None else queryset
    if isinstance(ref, bool) or not isinstance(ref, int | str) or ref == "":
        _fail("baseline", "give the baseline's name or id", line)
    if isinstance(ref, str) and (len(ref) > 200 or "\x00" in ref):
        _fail("baseline", "not a baseline name (at most 200 characters, no NUL)", line)
    if program_code is not None and (len(program_code) > 64 or "\x00" in program_code):
        _fail("program", "not a program code", line)
    if isinstance(ref, int) and not 0 < ref < 2**63:
        _fail("baseline", f"no baseline with id {ref}", line)
    if isinstance(ref, int):
        found = queryset.filter(pk=ref).first()
        if found is None:
            _fail("baseline", f"no baseline with id {ref}", line)
        if program_code and found.program.code != program_code:
            _fail("program", f"baseline {ref} belongs to {found.program.code!r}", line)
        return found
    matches = queryset.filter(name=ref)
    if program_code:
        matches = matches.filter(program__code=program_code)
    matches = list(matches[:2])
    if not matches:
        where = f" in program {program_code!r}" if program_code else ""
        _fail("baseline", f"no baseline named {ref!r}{where}", line)
    if len(matches) > 1:
        _fail(
            "baseline", f"{ref!r} names baselines in several programs: add 'program: <code>'", line
        )
    return matches[0]


def build(fields: dict, *, source: str = "", queryset=None) -> EscalationPolicy:
    """An unsaved (new or changed) policy from raw values ``{key: (value, line)}``, validated."""

    def value(key, default=None):
        return fields[key][0] if key in fields else default

    def line(key):
        return fields[key][1] if key in fields else None

    if "baseline" not in fields:
        _fail("baseline", "required")
    if "after_days_no_fix" not in fields:
        _fail("after_days_no_fix", "required", line("baseline"))
    program = value("program")
    if program is not None and not isinstance(program, str):
        _fail("program", "give the program's code", line("program"))
    baseline = find_baseline(value("baseline"), program, line=line("baseline"), queryset=queryset)
    days = value("after_days_no_fix")
    if isinstance(days, bool) or not isinstance(days, int):
        _fail(
            "after_days_no_fix",
            f"must be a whole number of days, not {days!r}",
            line("after_days_no_fix"),
        )
    action = value("action", EscalationPolicy.Action.RECOMMEND_LEADERSHIP_REVIEW)
    if action not in EscalationPolicy.Action.values:
        _fail(
            "action",
            f"{action!r} is not one of {', '.join(EscalationPolicy.Action.values)}",
            line("action"),
        )
    active = value("active", True)
    if not isinstance(active, bool):
        _fail("active", "must be true or false", line("active"))
    policy = EscalationPolicy.objects.filter(baseline=baseline, action=action).first()
    policy = policy or EscalationPolicy(baseline=baseline, action=action)
    policy.after_days_no_fix = days
    policy.active = active
    if source:
        policy.source = source[:300]
    try:
        policy.full_clean()
    except ValidationError as exc:
        key, messages = next(iter(exc.message_dict.items()))
        _fail(key, " ".join(messages), line(key) or line("baseline"))
    return policy


def load(
    text: str | bytes, *, source: str = "", actor=None, queryset=None, check=None
) -> list[EscalationPolicy]:
    """Validate every entry, then save them all (or nothing) with their audit entries.

    ``queryset`` limits the baselines names may refer to; ``check(policy)`` may
    refuse one (e.g. raise PermissionDenied) before anything is saved.
    """
    specs = parse_yaml(text)
    policies = [build(spec.fields, source=source, queryset=queryset) for spec in specs]
    seen = {}
    for spec, policy in zip(specs, policies, strict=True):
        key = (policy.baseline_id, policy.action)
        if key in seen:
            _fail(
                "baseline", f"same baseline and action as the policy on line {seen[key]}", spec.line
            )
        seen[key] = spec.line
    for policy in policies:
        if check is not None:
            check(policy)
    with transaction.atomic():
        for policy in policies:
            config_audit.save(policy, actor=actor)
    return policies


def review_key(policy: EscalationPolicy, escalation: Escalation) -> str:
    return f"apm.leadership_review:policy-{policy.pk}:escalation-{escalation.pk}"


def red_outside_maintenance(escalation: Escalation, now: datetime) -> timedelta:
    """How long the escalation has been red by ``now``, leaving out maintenance spans."""
    since = escalation.red_since
    spans = maintenance.spans_for_baseline(escalation.baseline, since, now)
    quiet = sum(((min(end, now) - max(start, since)) for start, end in spans), timedelta(0))
    return now - since - quiet


def apply_policies(now: datetime | None = None) -> list[Ticket]:
    """The daily task: a leadership-review ticket for each baseline red too long without a fix.

    Idempotent per red streak: the ticket is keyed on (policy, escalation), so
    running it every day (or twice a day) opens one ticket per streak.
    """
    now = now or timezone.now()
    opened = []
    policies = EscalationPolicy.objects.filter(
        active=True, action=EscalationPolicy.Action.RECOMMEND_LEADERSHIP_REVIEW
    ).select_related("baseline__program")
    for policy in policies:
        escalation = (
            Escalation.objects.open()
            .filter(
                baseline=policy.baseline,
                red_since__lte=now - timedelta(days=policy.after_days_no_fix),
            )
            .first()
        )
        if escalation is None:
            continue
        red = red_outside_maintenance(escalation, now)
        if red < timedelta(days=policy.after_days_no_fix):
            continue  # part of the streak was maintenance: those days do not count
        days = red.days
        baseline = policy.baseline
        ticket, created = tickets.open_ticket(
            dedupe_key=review_key(policy, escalation),
            kind=Ticket.Kind.LEADERSHIP_REVIEW,
            level=escalation.level,
            title=(
                f"Leadership review recommended: {baseline.program.code} / {baseline.name} "
                f"red for {days} days without a fix"
            ),
            body=(
                f"{baseline.program.name} ({baseline.program.authority}) promised "
                f"{baseline}. Escalation #{escalation.pk} ({escalation.level}) has been open "
                f"since {escalation.red_since:%Y-%m-%d %H:%M} UTC: {escalation.message}\n"
                f"Policy: after {policy.after_days_no_fix} days without a fix, "
                f"recommend a leadership review."
            ),
            baseline=baseline,
            escalation=escalation,
            policy=policy,
            created_at=now,
        )
        if created:
            opened.append(ticket)
    return opened
