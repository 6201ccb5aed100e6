"""The SLO evaluator: one pass decides every SLO with a bounded number of queries.

For each SLO, the ``percentile`` of its ``target`` metric over the window
``(at - window_seconds, at]`` (all series of that name) is compared with
``threshold``: above it is ``breached``, at or below is ``healthy``, no sample
is ``no_data``, fewer than ``min_samples`` is ``insufficient_data`` (no incident,
no action: docs/VERDICTS.md). A service inside a maintenance window
(``ops.maintenance``) is still decided and stored, marked ``in_maintenance``;
the playbook then opens no corrective run. Every window is read from the metrics
store in one call (``window_values``: value and sample count): on the database store
one ``percentile_cont`` statement on PostgreSQL, the same linear interpolation in
Python on SQLite. The beat's pass on PostgreSQL, when the store can join its windows
into a statement (``window_join``), reads the SLOs, computes their windows and writes
the steady SLOs' values in one statement (``ops.slo_steady``) and decides only the SLOs
it hands back, with the same ``decide``.

Idempotent under double delivery: each pass first claims a fencing token (the
``slo-evaluator`` heartbeat row, moved forward only by a newer pass), so an
older or duplicate pass writes nothing; a transition is also a conditional
UPDATE on the old state (one set-based statement for all of them), and its
``SLOStateChange`` row is written only when that UPDATE moved the row.

The pass commits only the state changes; the ``SLOStateChange`` rows are the
durable hand-off of their audit entries, incidents and playbook plans, done per
service after the commit by ``ops.slo_handoff``.
"""

from __future__ import annotations

import socket
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ops import maintenance, slo_handoff, slo_steady, slo_writes
from ops.metrics.store import get_store, percentile_statistic
from ops.models import SLO, SLOStateChange, WorkerHeartbeat
from ops.playbook import incidents

EVALUATOR = slo_handoff.ACTOR
AUDIT_TOPIC = slo_handoff.AUDIT_TOPIC
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class PassResult:
    at: datetime
    evaluated: int = 0
    stale: bool = False
    changes: list[SLOStateChange] = field(default_factory=list)


def decide(value: float | None, threshold: float, count: int | None = None, min_samples=1) -> str:
    """The verdict on the window: ``count`` samples whose percentile is ``value``.

    No sample is ``no_data``; 1..``min_samples - 1`` is ``insufficient_data`` (never
    breached, never healthy); otherwise the value against the threshold. ``count``
    None means the caller did not count (one value is then enough).
    """
    if value is None or count == 0:
        return SLO.State.NO_DATA
    if count is not None and count < min_samples:
        return SLO.State.INSUFFICIENT_DATA
    return SLO.State.BREACHED if value > threshold else SLO.State.HEALTHY


# One SLO and its window now: a tuple (a pass builds 10,000; a frozen dataclass cost ~5x).
Row = namedtuple(
    "Row", "pk service threshold state stored stored_count min_samples was_in_maintenance "
    "target window_seconds percentile value count",
)  # fmt: skip


def _rows(at: datetime, services=None) -> list[Row]:
    """Every SLO with its window's percentile and sample count now.

    Two statements whatever the number of SLOs: the SLOs, then every window at once
    from the metrics store (``window_values``: value and samples per window).
    """
    chosen = SLO.objects.all() if services is None else SLO.objects.filter(service_id__in=services)
    slos = list(
        chosen.order_by().values_list(  # no ORDER BY: the writes sort what they need
            "id", "service_id", "threshold", "state", "value", "sample_count", "min_samples",
            "in_maintenance", "target", "window_seconds", "percentile",
        )
    )  # fmt: skip
    if not slos:
        return []
    names = {pct: percentile_statistic(pct) for pct in {row[-1] for row in slos}}  # a few
    queries = [(row[1], row[-3], row[-2], at, names[row[-1]]) for row in slos]
    values = get_store().window_values(queries)  # window_stats without the objects
    return [Row(*head, *answer) for head, answer in zip(slos, values, strict=True)]


def _claim_pass(at: datetime) -> bool:
    """Fencing token: only a pass newer than the last one may write (double delivery, races).

    One statement (the pass's round trips are a good part of it): insert the marker row
    at ``at``, or move an existing one forward if it is older. Either locks the row until
    commit, so two passes never write at the same time and an older pass that arrives
    late (or a second one at the same instant) writes nothing.
    """
    table = connection.ops.quote_name(WorkerHeartbeat._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, beat_at, hostname) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET beat_at = excluded.beat_at, "
            f"hostname = excluded.hostname WHERE {table}.beat_at < excluded.beat_at "
            "RETURNING 1",
            (EVALUATOR, connection.ops.adapt_datetimefield_value(at), socket.gethostname()),
        )
        return cursor.fetchone() is not None


def last_pass_at() -> datetime | None:
    at = WorkerHeartbeat.objects.filter(name=EVALUATOR).values_list("beat_at", flat=True).first()
    return None if at is None or at == _NEVER else at


def _maintenance_flags(rows: list[Row], at: datetime, inside=None) -> tuple[set[str], bool]:
    """The services in maintenance now (one question per pass, unless the caller asked:
    ``inside``), and whether any SLO's flag flipped; flip the flags and re-arm the
    playbook of the services whose window just ended."""
    if inside is None:
        inside = maintenance.services_in_maintenance({r.service for r in rows}, at)
    entered = [r.pk for r in rows if r.service in inside and not r.was_in_maintenance]
    left = [r for r in rows if r.service not in inside and r.was_in_maintenance]
    if entered:
        SLO.objects.filter(pk__in=entered).update(in_maintenance=True)
    if left:
        SLO.objects.filter(pk__in=[r.pk for r in left]).update(in_maintenance=False)
        for row in left:
            incidents.maintenance_ended(row.service, row.pk, row.state, at)
    return inside, bool(entered or left)


def evaluate_all(at: datetime | None = None) -> PassResult:
    """Decide every SLO at ``at`` (default now); commit and return the state changes.

    The pass writes the moved SLOs and their ``SLOStateChange`` rows in a fixed number of
    statements and commits; auditing, incidents and playbook plans follow per service
    (``ops.slo_handoff``, sent after the commit), outside the evaluator's lock.
    A pass older than the last one that wrote (a late duplicate) changes nothing.
    """
    return _evaluate(at or timezone.now(), None)


def evaluate_services(service_ids, at: datetime | None = None) -> PassResult:
    """Decide only these services' SLOs at ``at`` (default now): the triggered pass.

    Sent after an ingest commit (``ops.slo_trigger``), so a breaching batch opens its
    incident without waiting for the beat. It takes no fencing token (the beat's pass
    must not become stale because of it); every write is guarded per SLO instead
    (``evaluated_at <= at``), so whichever of a beat pass and a triggered pass read the
    newer window wins, whatever order they commit in.
    """
    return _evaluate(at or timezone.now(), sorted(set(service_ids)))


def _unsteady(join, at: datetime, inside: set[str]) -> tuple[int, list[Row], int, bool]:
    """The beat's pass in one statement (``ops.slo_steady``): the steady SLOs' values are
    written; (SLOs, the others' rows, values written, commit made asynchronous). A row
    whose window the statement did not answer is read through ``window_values``."""
    total, written, made_async, answered = slo_steady.steady_pass(
        join, at, inside, settings.HMS_SLO_ASYNC_COMMIT
    )
    rows = [Row(*head[:-3], head[-2], head[-1]) for head in answered if head[-3]]
    others = [head[:-3] for head in answered if not head[-3]]
    if others:
        names = {pct: percentile_statistic(pct) for pct in {row[-1] for row in others}}
        queries = [(row[1], row[-3], row[-2], at, names[row[-1]]) for row in others]
        values = get_store().window_values(queries)
        rows += [Row(*head, *answer) for head, answer in zip(others, values, strict=True)]
    return total, rows, written, made_async


def _evaluate(at: datetime, services: list[str] | None) -> PassResult:
    result = PassResult(at=at)
    # The beat's pass in one statement when the store can join its windows into it and
    # every maintenance answer can be asked before the SLOs are read.
    join = get_store().window_join() if services is None else None
    inside = None if join is None else maintenance.every_service_in_maintenance(at)
    rows = _rows(at, services) if inside is None else []
    total, written, made_async = None, 0, False
    with transaction.atomic():
        if services is None and not _claim_pass(at):
            result.stale = True
            return result
        if inside is not None:
            total, rows, written, made_async = _unsteady(join, at, inside)
        inside, flipped = _maintenance_flags(rows, at, inside)
        moves, changed_values = {}, {}
        for row in rows:
            new_state = decide(row.value, row.threshold, row.count, row.min_samples)
            if new_state != row.state:
                quiet = row.service in inside
                moves[row.pk] = (row.service, row.state, new_state, row.value, row.count, quiet)
            elif row.value != row.stored or row.count != row.stored_count:
                changed_values[row.pk] = (row.value, row.count)
        result.changes = slo_writes.transitions(moves, at)
        # Values only (no state moved, no flag flipped): the next pass writes them again,
        # so the commit need not wait for the WAL flush (HMS_SLO_ASYNC_COMMIT).
        steady = not moves and not flipped and settings.HMS_SLO_ASYNC_COMMIT
        slo_writes.store_values(changed_values, at, asynchronous=steady and not made_async)
        if steady and written and not made_async and not changed_values:
            slo_writes.commit_asynchronously()
        moved = {change.slo_id for change in result.changes}
        services = sorted({moves[pk][0] for pk in moved})
        if services:  # a lost message is sent again by the beat (slo_handoff.sweep)
            transaction.on_commit(lambda: slo_handoff.send(services), robust=True)
    result.evaluated = len(rows) if total is None else total
    return result
