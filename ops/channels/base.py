"""The one contract every channel kind implements."""

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings


class ChannelError(Exception):
    """A send that did not succeed.

    ``permanent``: retrying cannot help (bad address, channel_not_found, 4xx).
    ``retry_after``: seconds the peer asked us to wait (429 Retry-After).
    ``maybe_delivered``: the peer may have delivered anyway (a timeout after
    the request went out), so a retry must first check, where the kind can.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


@dataclass
class Message:
    """What to send.

    ``marker`` identifies this notification at the peer and ``dedupe_key`` the
    event it reports; in-app kinds (e.g. a ticket) should create their object
    idempotently on one of them, so a re-sent notification never makes two.
    ``source_topic``/``source_id`` point at the row that caused it.
    """

    text: str
    subject: str = ""
    payload: dict = field(default_factory=dict)
    marker: str = ""
    dedupe_key: str = ""
    source_topic: str = ""
    source_id: str = ""
    deadline: float | None = None  # time.monotonic() by which every network call must end

    def timeout(self) -> float:
        """Seconds the next network call may take: the configured timeout, cut to the deadline."""
        limit = float(settings.HMS_NOTIFY_TIMEOUT_SECONDS)
        if self.deadline is None:
            return limit
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            raise ChannelError("claim lease ran out before the call; not sent", permanent=False)
        return min(limit, left)

    def full_text(self) -> str:
        return f"{self.subject}\n{self.text}" if self.subject else self.text


class ChannelKind:
    """One class per kind, registered in ``ops.channels.registry``.

    ``send`` delivers or raises ``ChannelError``; it returns a JSON-able dict
    describing the delivery (peer ids, status), stored on the attempt.
    ``find_delivered`` answers "did an earlier, interrupted attempt reach the
    peer?" with that dict, ``None`` for "no"; kinds that cannot tell set
    ``can_detect_delivery = False`` and are re-sent (at-least-once).
    """

    kind: str = ""
    label: str = ""
    can_detect_delivery = False
    # Whether reminders and "resolved" notices go here too (a ticket closes by itself).
    takes_follow_ups = True

    def validate(self, channel) -> dict[str, str]:
        """Field errors for ``channel`` (used by ``Channel.clean``)."""
        if not channel.target.strip():
            return {"target": f"A {self.kind} channel needs a target."}
        return {}

    def send(self, channel, message: Message) -> dict:
        raise NotImplementedError

    def find_delivered(self, channel, message: Message, since: datetime) -> dict | None:
        return None
