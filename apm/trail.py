"""The red-to-law trail of one program, as one stream of rows in time order.

law / authority → program and baseline edits → deviations with their evidence →
escalations → notifications and their attempts → tickets → explanations and
resolutions. Every row that the audit vault holds carries its entry's id and hash;
deviations are the watchdog's ledger (not vault entries) and carry the hash of the
escalation entry that cites them, when one does. The chain is verified when the
export starts, so the reader knows whether the hashes can be trusted and, if not,
at which entry the chain breaks.

Rows are produced lazily from two ordered, chunked queries (the vault's entries of
this program and its deviations) merged by time: the export never loads a table.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from apm import config_audit, escalations, explanations, quality, tickets
from apm.models import Deviation, Escalation, Program
from ops import audit
from ops.models import AuditEntry

NOTIFICATIONS = "ops.notification"
CHUNK = 2000
KINDS = {
    config_audit.TOPIC: "configuration",
    escalations.TOPIC: "escalation",
    NOTIFICATIONS: "notification",
    tickets.TOPIC: "ticket",
    explanations.TOPIC: "explanation",
}


@dataclass
class Row:
    at: datetime
    kind: str
    ref: str
    summary: str
    detail: dict = field(default_factory=dict)
    audit_id: int | None = None
    audit_hash: str = ""

    def as_dict(self) -> dict:
        return {
            "at": self.at,
            "kind": self.kind,
            "ref": self.ref,
            "summary": self.summary,
            "audit_id": self.audit_id,
            "audit_hash": self.audit_hash,
            "detail": self.detail,
        }


def _vault_filter(program: Program, baseline_ids: list[int], escalation_ids: list[int]) -> Q:
    config = Q(topic=config_audit.TOPIC) & (
        Q(payload__model="program", payload__id=program.pk)
        | Q(payload__model="baseline", payload__id__in=baseline_ids)
        | Q(payload__model="baseline", payload__fields__program=program.pk)
        | Q(payload__model="escalationpolicy", payload__fields__baseline__in=baseline_ids)
    )
    return (
        config
        | Q(topic=escalations.TOPIC, payload__program=program.code)
        | Q(
            topic=NOTIFICATIONS,
            payload__source_topic=escalations.TOPIC,
            payload__source_id__in=[str(pk) for pk in escalation_ids],
        )
        | Q(topic=tickets.TOPIC, payload__baseline__in=baseline_ids)
        | Q(topic=explanations.TOPIC, payload__program=program.code)
    )


def _summary(entry: AuditEntry) -> tuple[str, str]:
    payload = entry.payload
    if entry.topic == config_audit.TOPIC:
        return f"{payload.get('model')} #{payload.get('id')}", (
            f"{payload.get('change')} {payload.get('model')} {payload.get('name', '')}".strip()
        )
    if entry.topic == escalations.TOPIC:
        return f"escalation #{payload.get('escalation')}", (
            f"{payload.get('change')}: {payload.get('level')} {payload.get('status')} "
            f"— {payload.get('baseline_name')}"
        )
    if entry.topic == NOTIFICATIONS:
        return f"notification #{payload.get('notification')}", (
            f"{payload.get('status')} to {payload.get('channel')} "
            f"(attempt {payload.get('attempts')})"
        )
    if entry.topic == tickets.TOPIC:
        return f"ticket #{payload.get('ticket')}", (
            f"{payload.get('change')} {payload.get('kind')} ticket: {payload.get('title')}"
        )
    return f"explanation #{payload.get('explanation')}", (
        f"{payload.get('change', 'saved')} for {payload.get('period')}"
        + (f" (v{payload['version']})" if payload.get("version") else "")
    )


def _vault_rows(query: Q, since, until) -> Iterator[Row]:
    entries = AuditEntry.objects.filter(query)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    for entry in entries.order_by("at", "id").iterator(chunk_size=CHUNK):
        ref, summary = _summary(entry)
        yield Row(
            entry.at,
            KINDS.get(entry.topic, entry.topic),
            ref,
            summary,
            {"topic": entry.topic, "actor": entry.actor, **entry.payload},
            entry.pk,
            entry.hash,
        )


def _deviation_rows(baseline_ids, cited: dict[int, tuple[int, str]], since, until):
    deviations = Deviation.objects.filter(baseline_id__in=baseline_ids)
    if since:
        deviations = deviations.filter(evaluated_at__gte=since)
    if until:
        deviations = deviations.filter(evaluated_at__lt=until)
    fields = ("pk", "baseline_id", "evaluated_at", "actual", "deviation_pct", "status", "evidence")
    rows = deviations.order_by("evaluated_at", "id").values_list(
        *fields, "trigger", *quality.FIELDS
    )
    for pk, baseline_id, at, actual, pct, status, evidence, trigger, *figures in rows.iterator(
        CHUNK
    ):
        audit_id, audit_hash = cited.get(pk, (None, ""))
        shown = "no data" if actual is None else f"{actual:g}"
        data = dict(zip(quality.FIELDS, figures, strict=True))
        yield Row(
            at,
            "deviation",
            f"deviation #{pk}",
            f"{status}: actual {shown}, {pct:+.1f} % (baseline #{baseline_id}); "
            f"{quality.describe(data, at, suffix='before the run')}",
            {
                "baseline": baseline_id,
                "actual": actual,
                "deviation_pct": pct,
                "status": status,
                "trigger": trigger,
                "data_quality": data,
                "evidence": evidence,
            },
            audit_id,
            audit_hash,
        )


@dataclass
class Trail:
    program: Program
    since: datetime | None
    until: datetime | None
    chain: dict
    rows: Iterator[Row]

    def header(self) -> dict:
        return {
            "program": {
                "id": self.program.pk,
                "code": self.program.code,
                "name": self.program.name,
                "authority": self.program.authority,
            },
            "since": self.since,
            "until": self.until,
            "chain": self.chain,
        }


def build(program: Program, *, since=None, until=None) -> Trail:
    """The trail of ``program`` (verified chain first; rows are produced as they are read)."""
    chain = audit.verify().as_dict()
    baseline_ids = list(program.baselines.values_list("pk", flat=True))
    escalation_ids = list(
        Escalation.objects.filter(baseline_id__in=baseline_ids).values_list("pk", flat=True)
    )
    query = _vault_filter(program, baseline_ids, escalation_ids)
    cited: dict[int, tuple[int, str]] = {}
    citing = AuditEntry.objects.filter(topic=escalations.TOPIC, payload__program=program.code)
    for pk, digest, payload in citing.order_by("id").values_list("pk", "hash", "payload"):
        if payload.get("deviation") is not None:
            cited.setdefault(payload["deviation"], (pk, digest))  # the entry it caused
    law = Row(
        program.created_at,
        "authority",
        f"program {program.code}",
        f"{program.name} — {program.authority or 'no authority recorded'}",
        {"authority": program.authority, "public": program.public},
    )
    merged = heapq.merge(
        _vault_rows(query, since, until),
        _deviation_rows(baseline_ids, cited, since, until),
        key=lambda row: row.at,
    )
    return Trail(program, since, until, chain, _prepend(law, merged))


def _prepend(first: Row, rest) -> Iterator[Row]:
    yield first
    yield from rest


def as_json(trail: Trail) -> Iterator[str]:
    """The trail as one JSON document, in pieces: ``{...header, "rows": [ ... ]}``."""
    head = json.dumps(trail.header(), cls=DjangoJSONEncoder)
    yield head[:-1] + ', "rows": ['
    for n, row in enumerate(trail.rows):
        yield ("," if n else "") + json.dumps(row.as_dict(), cls=DjangoJSONEncoder)
    yield "]}\n"


CSV_FIELDS = ["at", "kind", "ref", "summary", "audit_id", "audit_hash", "detail"]


class _Echo:
    """A file-like object whose ``write`` returns the line (csv writer into a stream)."""

    def write(self, value):
        return value


def as_csv(trail: Trail) -> Iterator[str]:
    """The trail as CSV: a ``chain`` row with the verification first, then one row per step."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_FIELDS)
    chain = trail.chain
    verdict = "chain verified" if chain["ok"] else f"chain BROKEN: {chain.get('first_broken')}"
    yield writer.writerow(["", "chain", "", verdict, "", "", json.dumps(chain, default=str)])
    for row in trail.rows:
        data = row.as_dict()
        data["at"] = row.at.isoformat()
        data["detail"] = json.dumps(row.detail, cls=DjangoJSONEncoder, sort_keys=True)
        yield writer.writerow([data[name] if data[name] is not None else "" for name in CSV_FIELDS])
