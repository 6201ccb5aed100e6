"""A page of programs' card baselines with their latest runs and sign-off, in one statement.

The dashboard and the public scorecard show each baseline of a page's programs
(``name`` order) with what ``Baseline.objects.with_latest_deviation()
.with_latest_quality().with_data_age()`` annotates (``LATEST`` and ``MEASURED``: the
newest live run's status, deviation, time, maintenance flag and data-quality
figures; the newest live run with a value's data time, value and completeness) and
its ``validated_by`` loaded. Those annotations are 11 correlated subqueries a
baseline: 440 index probes at 40 baselines, and ~5 ms for the ORM to compile them
each request. On PostgreSQL the same values come from two ``LATERAL`` reads a
baseline (each the first row of ``apm_dev_baseline_latest``, newest first, ``id``
breaking ties as the annotations do) in a statement written once a process; the
columns pass through the fields' own converters and the instances are built by
``from_db`` as the ORM builds them. Other backends (SQLite) keep the ORM's
annotations: ``attach`` gives the same attributes either way.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Prefetch, prefetch_related_objects

from apm.models import Baseline, Deviation

# (annotation, the newest live run's column): ``with_latest_deviation``, ``with_latest_quality``
LATEST = (
    ("latest_status", "status"),
    ("latest_deviation_pct", "deviation_pct"),
    ("latest_evaluated_at", "evaluated_at"),
    ("latest_in_maintenance", "in_maintenance"),
    ("latest_sample_count", "sample_count"),
    ("latest_completeness", "completeness"),
    ("latest_newest_sample_at", "newest_sample_at"),
    ("latest_source", "source"),
)
# (annotation, the newest live run with a value's expression, the deviation field of its
# type): ``with_data_age``
MEASURED = (
    ("newest_data_at", "COALESCE(d.newest_sample_at, d.evaluated_at)", "evaluated_at"),
    ("newest_value", "d.actual", "actual"),
    ("newest_completeness", "d.completeness", "completeness"),
)


def attach(programs: list) -> None:
    """Set ``card_baselines`` on each of ``programs``: the list of its baselines by name,
    annotated as ``LATEST`` and ``MEASURED`` say, with ``validated_by``; one statement."""
    if not programs:
        return
    db = connections[Baseline.objects.db]
    if db.vendor != "postgresql":
        found = Prefetch("baselines", queryset=_annotated(), to_attr="card_baselines")
        prefetch_related_objects(programs, found)
        return
    with db.cursor() as cursor:
        cursor.execute(_statement(), [[p.pk for p in programs]])
        rows = cursor.fetchall()
    by_program: dict[int, list[Baseline]] = {p.pk: [] for p in programs}
    for baseline in _baselines(rows, db):
        by_program[baseline.program_id].append(baseline)
    for program in programs:
        program.card_baselines = by_program[program.pk]


def _annotated():
    return (
        Baseline.objects.with_latest_deviation()
        .with_latest_quality()
        .with_data_age()
        .select_related("validated_by")
        .order_by("name")
    )


def _baselines(rows, db):
    """``Baseline``s (and their ``validated_by``) from the statement's rows."""
    baseline, user = _Columns(Baseline, db), _Columns(get_user_model(), db)
    runs = [Deviation._meta.get_field(column) for _, column in LATEST]
    runs += [Deviation._meta.get_field(column) for _, _, column in MEASURED]
    latest = _Columns(Deviation, db, runs)
    names = [name for name, _ in LATEST] + [name for name, _, _ in MEASURED]
    first_run, first_user = len(baseline.fields), len(baseline.fields) + len(names)
    validated_by = Baseline.validated_by.field
    for row in rows:
        instance = baseline.instance(row[:first_run])
        for name, value in zip(names, latest.values(row[first_run:first_user]), strict=True):
            setattr(instance, name, value)
        signer = row[first_user:]
        validated_by.set_cached_value(
            instance, user.instance(signer) if signer[0] is not None else None
        )
        yield instance


class _Columns:
    """Columns of ``model``'s ``fields`` (its concrete fields unless given) as the ORM reads
    them: the backend's and each field's converters (``SQLCompiler.get_converters``), then
    ``from_db`` for an instance."""

    def __init__(self, model, db, fields=None):
        self.model, self.db = model, db
        self.fields = model._meta.concrete_fields if fields is None else fields
        self.names = [f.attname for f in self.fields]
        self.converters = []
        for j, field in enumerate(self.fields):
            column = field.get_col(model._meta.db_table)
            converters = db.ops.get_db_converters(column) + column.get_db_converters(db)
            if converters:
                self.converters.append((j, column, converters))

    def values(self, row) -> list:
        values = list(row)
        for j, column, converters in self.converters:
            for convert in converters:
                values[j] = convert(values[j], column, self.db)
        return values

    def instance(self, row):
        return self.model.from_db(self.db.alias, self.names, self.values(row))


@cache
def _statement() -> str:
    """The PostgreSQL statement (one parameter: the programs' ids as an array)."""
    user = get_user_model()
    live = f"d.baseline_id = b.id AND NOT (d.trigger = '{Deviation.Trigger.BACKFILL.value}')"
    newest = "ORDER BY d.evaluated_at DESC, d.id DESC LIMIT 1"
    columns = ", ".join(
        [f'b."{f.column}"' for f in Baseline._meta.concrete_fields]
        + [f'l."{name}"' for name, _ in LATEST]
        + [f'm."{name}"' for name, _, _ in MEASURED]
        + [f'u."{f.column}"' for f in user._meta.concrete_fields]
    )
    latest = ", ".join(f'd."{column}" AS "{name}"' for name, column in LATEST)
    measured = ", ".join(f'{expression} AS "{name}"' for name, expression, _ in MEASURED)
    baselines, deviations = Baseline._meta.db_table, Deviation._meta.db_table
    return (
        f'SELECT {columns} FROM "{baselines}" b'  # noqa: S608 (model names, no values)
        f' LEFT JOIN LATERAL (SELECT {latest} FROM "{deviations}" d WHERE {live} {newest})'
        " l ON TRUE"
        f' LEFT JOIN LATERAL (SELECT {measured} FROM "{deviations}" d'
        f" WHERE {live} AND d.actual IS NOT NULL {newest}) m ON TRUE"
        f' LEFT JOIN "{user._meta.db_table}" u'
        f' ON u."{user._meta.pk.column}" = b."{Baseline.validated_by.field.column}"'
        ' WHERE b."program_id" = ANY(%s) ORDER BY b."name"'
    )
