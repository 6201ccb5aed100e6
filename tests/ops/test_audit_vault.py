"""The audit vault: a hash chain that detects tampering, append-only everywhere."""

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from ops import audit
from ops.models import AppendOnlyError, AuditEntry
from tests.support.worker import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]


def _table():
    return connection.ops.quote_name(AuditEntry._meta.db_table)


def test_each_entry_links_to_the_hash_of_the_one_before(db):
    first = audit.record("ops.incident", {"service": "DCA_Luggage_Scanner"}, actor="worker")
    second = audit.record("apm.escalation", {"escalation": 7, "level": "critical"})

    assert first.prev_hash == AuditEntry.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.actor == "system"
    assert len(second.hash) == 64 and second.hash != first.hash
    assert audit.verify().as_dict() == {"ok": True, "entries": 2}


def test_actor_may_be_a_user(db, django_user_model):
    alice = django_user_model.objects.create_user("staff_alice")
    entry = audit.record("apm.policy", {"policy": 3, "change": "created"}, actor=alice)
    assert entry.actor == "staff_alice"


def test_payload_values_hash_the_same_after_the_database_round_trip(db):
    payload = {
        "big": 1e20,
        "tiny": 1e-7,
        "sum": 0.1 + 0.2,
        "whole": 2.0,
        "money": Decimal("12.50"),
        "when": datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
        "nested": {"z": [1, None, True, "é"], "a": -0.5},
    }
    audit.record("apm.baseline", payload, actor="staff_alice")
    reread = AuditEntry.objects.get()
    assert reread.payload["money"] == "12.50"
    assert audit.verify().ok


def test_non_json_payload_is_refused_and_nothing_is_written(db):
    with pytest.raises(ValueError, match="not JSON-serializable"):
        audit.record("ops.incident", {"value": object()})
    with pytest.raises(ValueError, match="Out of range float"):
        audit.record("ops.incident", {"value": float("nan")})
    assert AuditEntry.objects.count() == 0


def test_editing_a_row_in_the_database_makes_audit_verify_fail_naming_it(db):
    audit.record("ops.incident", {"service": "scanner", "state": "open"}, actor="worker")
    tampered = audit.record("apm.escalation", {"escalation": 1, "level": "critical"})
    audit.record("apm.escalation", {"escalation": 1, "status": "resolved"})
    call_command("audit_verify")

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET payload = %s WHERE id = %s",
            ['{"escalation": 1, "level": "info"}', tampered.pk],
        )

    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    assert failure.value.returncode == 1
    assert f"entry #{tampered.pk}" in str(failure.value)
    assert "apm.escalation" in str(failure.value)
    result = audit.verify()
    assert result.ok is False
    assert result.first_broken["id"] == tampered.pk
    assert result.first_broken["reason"] == "hash does not match the entry's content"


@pytest.mark.skipif(
    "sqlite" in connections["default"].settings_dict["ENGINE"],
    reason="manage.py in a subprocess needs a server database (SQLite's test DB is in memory)",
)
def test_audit_verify_command_exits_non_zero_naming_the_tampered_entry(transactional_db):
    audit.record("ops.incident", {"service": "scanner"}, actor="worker")
    tampered = audit.record("apm.escalation", {"escalation": 1, "level": "critical"})
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hms_site.test_settings",
        "DATABASE_URL": subprocess_database_url(),
    }
    command = [sys.executable, "manage.py", "audit_verify"]
    intact = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert intact.returncode == 0, intact.stderr
    assert "audit chain OK: 2 entries" in intact.stdout

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET actor = 'mallory' WHERE id = %s", [tampered.pk])

    broken = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert f"audit chain BROKEN at entry #{tampered.pk} (topic apm.escalation" in broken.stderr


def test_a_row_deleted_in_the_database_breaks_the_link_of_the_next_one(db):
    entries = [audit.record("ops.incident", {"n": n}) for n in range(4)]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE id = %s", [entries[1].pk])

    result = audit.verify()
    assert result.ok is False
    assert result.first_broken["id"] == entries[2].pk
    assert "prev_hash" in result.first_broken["reason"]


def test_a_deleted_tail_is_caught_by_the_chain_head(db):
    entries = [audit.record("ops.incident", {"n": n}) for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE id = %s", [entries[-1].pk])

    result = audit.verify()
    assert result.ok is False
    assert result.first_broken["id"] == entries[-1].pk
    assert "truncated" in result.first_broken["reason"]


def test_the_orm_refuses_to_change_or_remove_entries(db):
    entry = audit.record("ops.incident", {"n": 1})
    entry.payload = {"n": 2}
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="mallory")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_create([AuditEntry(topic="x", actor="x", payload={})])
    forged = AuditEntry(topic="ops.incident", actor="mallory", payload={}, prev_hash="0" * 64)
    forged.at = entry.at
    forged.hash = "f" * 64
    with pytest.raises(AppendOnlyError):
        forged.save()
    assert AuditEntry.objects.get().payload == {"n": 1}
    assert audit.verify().ok


def test_an_entry_rolled_back_with_its_caller_leaves_the_chain_intact(db):
    audit.record("ops.incident", {"n": 1})
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("ops.incident", {"n": 2})
        raise RuntimeError("the caller's change failed")
    third = audit.record("ops.incident", {"n": 3})
    assert AuditEntry.objects.count() == 2
    assert audit.verify().as_dict() == {"ok": True, "entries": 2}
    assert third.prev_hash == AuditEntry.objects.order_by("id").first().hash


@pytest.mark.skipif(
    "sqlite" in connections["default"].settings_dict["ENGINE"],
    reason="concurrent writers need a server database (SQLite's test DB is in memory)",
)
def test_concurrent_appends_form_one_unbroken_chain(transactional_db):
    errors = []

    def writer(n):
        try:
            for i in range(10):
                audit.record("ops.incident", {"writer": n, "i": i}, actor=f"worker-{n}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert audit.verify().as_dict() == {"ok": True, "entries": 40}
    assert len(set(AuditEntry.objects.values_list("prev_hash", flat=True))) == 40
