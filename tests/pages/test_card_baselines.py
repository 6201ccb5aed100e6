"""The cards' baselines read in one statement (``apm.card_baselines``) carry what the ORM's
annotations (``with_latest_deviation``, ``with_latest_quality``, ``with_data_age``) give."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apm import card_baselines
from apm.models import Baseline, Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NAMES = [name for name, _ in card_baselines.LATEST] + [
    name for name, _, _ in card_baselines.MEASURED
]


def run(baseline, when, status, actual, trigger="schedule", **quality):
    return Deviation.objects.create(
        baseline=baseline,
        evaluated_at=when,
        actual=actual,
        deviation_pct=0.0 if actual is None else abs(actual - 14) / 14 * 100,
        status=status,
        evidence={},
        trigger=trigger,
        **quality,
    )


@pytest.fixture
def programs():
    """Three programs: one with a baseline of each shape, one with none, one with a
    baseline whose only runs are backfills."""
    signer = User.objects.create_user("signer_sam")
    shapes, empty, backfilled = f.program(code="p-1"), f.program(code="p-2"), f.program(code="p-3")
    tie = f.baseline(shapes, name="b_tie", clean=False)
    # two live runs at the same instant: the later id is the latest, as ``-id`` orders them
    run(tie, AT, "ok", 12.0, sample_count=5, completeness=0.5, source="first")
    run(tie, AT, "breach", 30.0, sample_count=7, completeness=0.9, source="second",
        newest_sample_at=AT - timedelta(minutes=3))  # fmt: skip
    run(tie, AT + timedelta(days=1), "ok", 13.0, trigger="backfill")  # never "latest"
    gap = f.baseline(shapes, name="a_gap", clean=False)
    gap.validated_by, gap.validated_at = signer, AT - timedelta(days=3)
    gap.save(update_fields=["validated_by", "validated_at"])
    # the newest live run measured nothing: the data age comes from the one before
    run(gap, AT - timedelta(days=2), "ok", 14.0, completeness=1.0, in_maintenance=True)
    run(gap, AT - timedelta(days=1), "no_data", None, source="Prometheus")
    f.baseline(shapes, name="c_never", clean=False)
    only = f.baseline(backfilled, name="only_backfills", clean=False)
    run(only, AT, "ok", 12.0, trigger="backfill")
    return [shapes, empty, backfilled]


def expected(programs):
    """{baseline id: its annotations} from the ORM's annotated queryset."""
    rows = card_baselines._annotated().filter(program__in=programs)
    return {b.pk: [getattr(b, name) for name in NAMES] + [b.validated_by] for b in rows}


def test_one_statement_gives_the_orms_annotations(programs):
    with CaptureQueriesContext(connection) as read:
        card_baselines.attach(programs)
    assert len(read.captured_queries) == 1
    shapes, empty, backfilled = programs
    assert [b.name for b in shapes.card_baselines] == ["a_gap", "b_tie", "c_never"]
    assert empty.card_baselines == [] and len(backfilled.card_baselines) == 1
    found = {
        b.pk: [getattr(b, name) for name in NAMES] + [b.validated_by]
        for program in programs
        for b in program.card_baselines
    }
    assert found == expected(programs)
    gap, tie, never = shapes.card_baselines
    latest = dict(zip(NAMES, found[tie.pk], strict=False))
    assert latest["latest_status"] == "breach" and latest["latest_source"] == "second"
    assert latest["latest_sample_count"] == 7 and latest["latest_completeness"] == 0.9
    assert latest["newest_data_at"] == AT - timedelta(minutes=3) and latest["newest_value"] == 30
    age = dict(zip(NAMES, found[gap.pk], strict=False))
    assert age["latest_status"] == "no_data" and age["latest_in_maintenance"] is False
    assert age["newest_data_at"] == AT - timedelta(days=2) and age["newest_completeness"] == 1.0
    assert gap.validated_by.get_username() == "signer_sam"
    assert all(value is None for value in found[never.pk])
    assert all(value is None for value in found[backfilled.card_baselines[0].pk])


def test_the_baselines_are_models_as_the_orm_reads_them(programs):
    card_baselines.attach(programs)
    gap = programs[0].card_baselines[0]
    fresh = Baseline.objects.get(pk=gap.pk)
    fields = [f.attname for f in Baseline._meta.concrete_fields]
    assert [getattr(gap, name) for name in fields] == [getattr(fresh, name) for name in fields]
    assert gap._signed_source == fresh._signed_source  # ``from_db`` ran
    with CaptureQueriesContext(connection) as more:
        assert gap.validated_by.pk == fresh.validated_by_id
        assert programs[0].card_baselines[1].validated_by is None
    assert more.captured_queries == []
