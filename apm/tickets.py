"""Management-layer tickets: opened idempotently (one per event), closed once, always audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from apm.models import Ticket
from ops import audit

TOPIC = "apm.ticket"


def _audit(ticket: Ticket, change: str, actor, **extra) -> None:
    audit.record(
        TOPIC,
        {
            "ticket": ticket.pk,
            "change": change,
            "kind": ticket.kind,
            "status": ticket.status,
            "title": ticket.title,
            "baseline": ticket.baseline_id,
            "escalation": ticket.escalation_id,
            "policy": ticket.policy_id,
            "dedupe_key": ticket.dedupe_key,
            **extra,
        },
        actor=actor,
    )


def open_ticket(*, dedupe_key: str, actor="system", **fields) -> tuple[Ticket, bool]:
    """The ticket for ``dedupe_key``, creating it (and its audit entry) the first time only."""
    existing = Ticket.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    fields["title"] = fields.get("title", "")[:300]
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                dedupe_key=dedupe_key, created_at=fields.pop("created_at", timezone.now()), **fields
            )
            _audit(ticket, "opened", actor)
    except IntegrityError:
        # A concurrent delivery of the same event created it first.
        return Ticket.objects.get(dedupe_key=dedupe_key), False
    return ticket, True


def close(ticket: Ticket, *, actor, at=None, reason: str = "") -> bool:
    """open -> closed (conditional UPDATE); ``False`` when it was already closed."""
    at = at or timezone.now()
    user = None if isinstance(actor, str) else actor
    with transaction.atomic():
        won = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.OPEN).update(
            status=Ticket.Status.CLOSED, closed_at=at, closed_by=user
        )
        if won:
            ticket.refresh_from_db()
            _audit(ticket, "closed", actor, reason=reason)
    return bool(won)
