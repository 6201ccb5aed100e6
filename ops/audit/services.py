"""Appending to and verifying the hash chain of ``AuditEntry`` rows."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ops.models import AuditChainHead, AuditEntry
from ops.models.chain import compute_hash, entry_hash, normalize_payload

SYSTEM = "system"
TOPIC_MAX = AuditEntry._meta.get_field("topic").max_length
ACTOR_MAX = AuditEntry._meta.get_field("actor").max_length


def _actor_name(actor) -> str:
    """A username for a user object, the string itself otherwise ("system", "worker")."""
    if actor is None:
        return SYSTEM
    if hasattr(actor, "get_username"):
        return actor.get_username() or SYSTEM
    return str(actor)


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=AuditChainHead.SINGLETON).first()
    if head is None:
        # First entry ever (or a freshly flushed test database): two writers may
        # race to create the head; get_or_create turns the loser's IntegrityError
        # into a read of the winner's row, which is then locked.
        AuditChainHead.objects.get_or_create(pk=AuditChainHead.SINGLETON)
        head = AuditChainHead.objects.select_for_update().get(pk=AuditChainHead.SINGLETON)
    return head


def record(topic: str, payload=None, *, actor=None) -> AuditEntry:
    """Append one entry to the chain and return it.

    Atomic, and joins the caller's transaction: if the caller rolls back, the
    entry is gone too and the chain stays intact. Appends are serialized by a
    row lock on the chain head (on SQLite by the IMMEDIATE write transaction),
    so concurrent writers always link to the entry committed before theirs.
    ``actor`` is a user or a string such as "system" or "worker".
    """
    topic = (topic or "").strip()
    if not topic or len(topic) > TOPIC_MAX:
        raise ValueError(f"audit topic must be 1..{TOPIC_MAX} characters, got {topic!r}")
    actor_name = _actor_name(actor)[:ACTOR_MAX]
    payload = normalize_payload({} if payload is None else payload)
    with transaction.atomic():
        head = _locked_head()
        at = timezone.now()
        entry = AuditEntry(
            topic=topic,
            at=at,
            actor=actor_name,
            payload=payload,
            prev_hash=head.last_hash,
            hash=compute_hash(head.last_hash, topic, at, actor_name, payload),
        )
        entry.save()
        head.last_entry_id = entry.pk
        head.last_hash = entry.hash
        head.entries += 1
        head.save(update_fields=["last_entry_id", "last_hash", "entries"])
    return entry


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    first_broken: dict | None = field(default=None)

    def as_dict(self) -> dict:
        data = {"ok": self.ok, "entries": self.entries}
        if self.first_broken is not None:
            data["first_broken"] = self.first_broken
        return data


def _broken(entry, reason: str) -> dict:
    return {
        "id": entry.pk,
        "topic": entry.topic,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "reason": reason,
    }


def verify(chunk_size: int = 2000) -> VerifyResult:
    """Walk the whole chain in id order (streamed, constant memory).

    An entry is broken when its stored hash is not the hash of its content
    (the row was edited) or when its ``prev_hash`` is not the previous entry's
    hash (a row before it was deleted, inserted or re-hashed). The head row,
    read before the walk so concurrent appends cannot confuse it, catches a
    deleted tail.
    """
    head = AuditChainHead.objects.filter(pk=AuditChainHead.SINGLETON).first()
    head_seen = head is None or head.last_entry_id is None
    expected_prev = AuditEntry.GENESIS_HASH
    previous_id = None
    count = 0
    entries = AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size)
    for entry in entries:
        count += 1
        if entry.prev_hash != expected_prev:
            where = f"entry #{previous_id}" if previous_id else "the start of the chain"
            return VerifyResult(
                False,
                count,
                _broken(entry, f"prev_hash does not match the hash of {where}"),
            )
        if entry_hash(entry) != entry.hash:
            return VerifyResult(
                False, count, _broken(entry, "hash does not match the entry's content")
            )
        if not head_seen and entry.pk == head.last_entry_id:
            head_seen = True
            if entry.hash != head.last_hash or count != head.entries:
                return VerifyResult(
                    False,
                    count,
                    _broken(entry, "the chain head records a different entry here"),
                )
        expected_prev = entry.hash
        previous_id = entry.pk
    if not head_seen:
        return VerifyResult(
            False,
            count,
            {
                "id": head.last_entry_id,
                "reason": (
                    f"chain truncated: the head records {head.entries} entries ending at "
                    f"#{head.last_entry_id}, the table holds {count} ending at #{previous_id}"
                ),
            },
        )
    return VerifyResult(True, count)
