"""The audit vault: an append-only, hash-chained log of every state change.

Each ``AuditEntry`` stores the hash of the entry before it (``prev_hash``) and
its own ``hash`` = sha256 over a canonical JSON of (prev_hash, topic, at,
actor, payload) — see ``ops.models.chain``. Editing or deleting a row in the
database therefore breaks the chain, which ``ops.audit.verify`` (the
``audit_verify`` command, ``GET /api/v1/audit/verify/``) detects and names.

Rows are written only by ``ops.audit.record``; the ORM refuses to update or
delete them (``save`` of an existing row, ``delete``, ``QuerySet.update`` /
``delete`` / ``bulk_update`` all raise ``AppendOnlyError``).
"""

from django.db import models

from ops.models.chain import entry_hash


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only: update is refused")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only: delete is refused")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit entries are append-only: bulk_update is refused")

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyError("audit entries are written one by one through ops.audit.record")


class AuditEntry(models.Model):
    GENESIS_HASH = "0" * 64

    topic = models.CharField(max_length=100, db_index=True)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ("id",)
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["topic", "at"], name="ops_audit_topic_at")]

    def __str__(self):
        return f"#{self.pk} {self.topic} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"audit entry #{self.pk} is append-only: save is refused")
        if not self.hash or self.hash != entry_hash(self):
            raise AppendOnlyError("audit entries are written through ops.audit.record only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"audit entry #{self.pk} is append-only: delete is refused")


class AuditChainHead(models.Model):
    """One row (pk=1): the last entry of the chain.

    ``ops.audit.record`` locks it (``SELECT ... FOR UPDATE``) so appends are
    serialized and each entry links to the one committed just before it; the
    verifier compares it with the last row to detect a truncated tail.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    last_entry_id = models.BigIntegerField(null=True)
    last_hash = models.CharField(max_length=64, default=AuditEntry.GENESIS_HASH)
    entries = models.BigIntegerField(default=0)

    def __str__(self):
        return f"audit chain head: {self.entries} entries"
