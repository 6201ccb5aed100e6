"""The ``ticket`` channel kind: a notification becomes a management-layer ``Ticket``.

Registered into ``ops.channels.registry`` from ``ApmConfig.ready()`` (ops never
imports apm). The target names the ticket kind (``escalation`` by default).
Idempotent: the ticket is keyed on the notification's ``dedupe_key``, so a
re-sent notification (retry, worker lost mid-send) never makes a second one.
"""

from django.db import OperationalError

from apm import tickets
from apm.models import Baseline, Escalation, Ticket
from apm.models.escalation import Level
from ops.channels import ChannelError, ChannelKind, Message


def _ref(model, value):
    """The id if that row exists, else ``None`` (a message may outlive what it points at)."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if model.objects.filter(pk=pk).exists() else None


class TicketChannel(ChannelKind):
    kind = "ticket"
    label = "Management ticket (in the app)"
    can_detect_delivery = True
    takes_follow_ups = False  # its ticket closes with the escalation

    def validate(self, channel) -> dict[str, str]:
        target = channel.target.strip() or Ticket.Kind.ESCALATION
        if target not in Ticket.Kind.values:
            return {
                "target": f"Ticket kind {target!r}: use one of {', '.join(Ticket.Kind.values)}."
            }
        return {}

    @staticmethod
    def _key(message: Message) -> str:
        return message.dedupe_key or message.marker

    def send(self, channel, message: Message) -> dict:
        key = self._key(message)
        if not key:
            raise ChannelError("a ticket needs the message's dedupe key", permanent=True)
        payload = message.payload or {}
        try:
            ticket, created = tickets.open_ticket(
                dedupe_key=key,
                actor="worker",
                kind=channel.target.strip() or Ticket.Kind.ESCALATION,
                title=message.subject or message.text.splitlines()[0],
                level=payload.get("level") if payload.get("level") in Level.values else "",
                body=message.text,
                baseline_id=_ref(Baseline, payload.get("baseline")),
                escalation_id=_ref(Escalation, payload.get("escalation")),
            )
        except OperationalError as exc:  # database busy or gone: try again later
            raise ChannelError(f"ticket not saved: {exc}", permanent=False) from None
        return {"ticket": ticket.pk, "created": created}

    def find_delivered(self, channel, message: Message, since) -> dict | None:
        ticket = Ticket.objects.filter(dedupe_key=self._key(message)).first()
        return {"ticket": ticket.pk, "created": False} if ticket else None
