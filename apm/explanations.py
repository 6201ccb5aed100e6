"""Explanations of missed (or at-risk) quarters: saved, versioned and audited in one place."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apm.models import Explanation, ExplanationVersion
from ops import audit

TOPIC = "apm.explanation"


def save(explanation: Explanation, *, actor) -> Explanation:
    """Create or update ``explanation`` (already validated): a new version, an audit entry."""
    with transaction.atomic():
        if explanation.pk is not None:
            current = Explanation.objects.select_for_update().get(pk=explanation.pk)
            explanation.version = current.version + 1
        explanation.author = actor if getattr(actor, "pk", None) else None
        explanation.save()
        name = actor.get_username() if hasattr(actor, "get_username") else str(actor or "")
        ExplanationVersion.objects.create(
            explanation=explanation,
            version=explanation.version,
            why=explanation.why,
            plan=explanation.plan,
            due_date=explanation.due_date,
            author=name,
            saved_at=timezone.now(),
        )
        audit.record(
            TOPIC,
            {
                "explanation": explanation.pk,
                "version": explanation.version,
                "baseline": explanation.baseline_id,
                "program": explanation.baseline.program.code,
                "period": explanation.period,
                "why": explanation.why,
                "plan": explanation.plan,
                "due_date": str(explanation.due_date),
            },
            actor=actor,
        )
    return explanation


def delete(explanation: Explanation, *, actor) -> None:
    with transaction.atomic():
        payload = {
            "explanation": explanation.pk,
            "baseline": explanation.baseline_id,
            "program": explanation.baseline.program.code,
            "period": explanation.period,
            "change": "deleted",
        }
        explanation.delete()
        audit.record(TOPIC, payload, actor=actor)
