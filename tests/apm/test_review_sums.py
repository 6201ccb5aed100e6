"""The quarterly review's least-squares line from its sums, and the dashboard strip's sums
added up by the database: the same verdicts and figures as the review page's, one rule."""

import random
from datetime import timedelta

import pytest

from apm.models import Baseline, Deviation
from apm.review.quarters import Quarter
from apm.review.status import Sums, fit, fit_sums, judge_sums, length_days, review
from apm.summary import quarter_statuses, quarter_sums
from tests import factories as f

Q3 = Quarter(2026, 3)  # July to September 2026, a closed quarter


def centred_fit(points):
    """The textbook fit, x centred on its mean before summing: the reference."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return mean_y - slope * mean_x, slope


def raw(points):
    """n, Σx, Σy, Σxy, Σx², as SQLite adds them up for the strip."""
    return (
        len(points),
        sum(x for x, _ in points),
        sum(y for _, y in points),
        sum(x * y for x, y in points),
        sum(x * x for x, _ in points),
    )


def test_the_fit_from_raw_sums_matches_the_centred_fit_over_a_quarter_of_days():
    rng = random.Random(14)
    for _ in range(200):
        n = rng.randint(3, 3000)
        # any second of the quarter's 92 days, values around a target of 30
        points = [(rng.randint(0, 92 * 86400) / 86400, rng.uniform(0, 60)) for _ in range(n)]
        points.append((points[0][0] + 1 / 86400, rng.uniform(0, 60)))  # a spread in x
        assert fit(points) == centred_fit(points)
        from_raw = fit_sums(Sums.from_raw(*raw(points)))
        assert from_raw == pytest.approx(centred_fit(points), rel=1e-9, abs=1e-9)


def test_evaluations_at_one_instant_are_a_flat_line_through_their_mean():
    assert fit([(5.5, 1), (5.5, 3), (5.5, 5)]) == (3, 0.0)
    assert fit([(0, 2), (0, 4), (0, 6)]) == (4, 0.0)
    for x in (0.1, 5.5, 91.99):
        points = [(x, 1), (x, 3), (x, 5)]
        assert fit_sums(Sums.from_raw(*raw(points))) == (pytest.approx(3), 0.0)


def test_too_few_evaluations_are_not_enough_data_whatever_their_sums():
    b = Baseline(pk=1, target_value=30, compare_op=Baseline.CompareOp.LE, threshold_pct=0)
    one = judge_sums(b, Sums(2, 1.0, 50.0, 50.0, 1.0), 4, length_days(Q3))
    assert (one.status, one.evaluations, one.missing, one.projection) == (
        "insufficient_data",
        2,
        4,
        None,
    )


def run(baseline, days, actual, status=None, **fields):
    pct = 100.0 if actual is None else baseline.deviation_pct(actual)
    if status is None:
        status = "no_data" if actual is None else "breach" if pct > baseline.threshold_pct else "ok"
    return Deviation.objects.create(
        baseline=baseline,
        evaluated_at=Q3.start + timedelta(days=days),
        actual=actual,
        deviation_pct=pct,
        status=status,
        evidence={},
        trigger="schedule",
        **fields,
    )


@pytest.fixture
def promises():
    """One program's promises, each a different shape of quarter."""
    program = f.program(code="fast-track")
    make = lambda name, **kw: f.baseline(program, name=name, clean=False, **kw)  # noqa: E731
    steady, rising, missed = make("steady"), make("rising"), make("missed")
    falling = make("falling", compare_op=Baseline.CompareOp.GE, threshold_pct=5)
    gaps, noisy, one_instant, few = make("gaps"), make("noisy"), make("instant"), make("few")
    for i in range(13):
        days = 7 * i + 0.3 + i / 7
        run(steady, days, 25 + (i % 3) - 1)
        run(rising, days, 15 + 2.5 * i)  # mean 30 (kept), heading for ~46 (missed)
        run(missed, days, 45 + (i % 2))
        run(falling, days, 40 - 1.2 * i)  # at least 30: kept so far, falling below
        run(gaps, days, None if i % 3 else 20 + i)  # no_data runs: missing, not fitted
        run(noisy, days, 28 + i * 0.1)
    run(noisy, 10, 500, in_maintenance=True)  # inside a maintenance window: left out
    run(noisy, 11, 400, status="insufficient_data")  # left out too
    run(noisy, 12, None, status="error")  # a run without a value: missing
    run(noisy, -1, 900)  # the quarter before
    run(noisy, 92.5, 900)  # the quarter after
    for _ in range(3):
        run(one_instant, 40, 45)
    run(few, 3, 10)
    run(few, 4, 60)
    make("unmeasured")
    return program


@pytest.mark.django_db
def test_the_strip_and_the_review_page_judge_every_promise_alike(promises):
    baselines = list(promises.baselines.order_by("name"))
    reviewed = {r.baseline.pk: r for r in review(baselines, Q3, Q3.end, details=False)}
    summed = quarter_sums([promises.pk], Q3, Q3.end)
    assert {b.pk for b, _ in summed} == {b.pk for b in baselines if b.name != "unmeasured"}
    for baseline, line in summed:
        page, strip = reviewed[baseline.pk], judge_sums(baseline, line, 0, length_days(Q3))
        assert (strip.status, strip.evaluations, strip.direction) == (
            page.status,
            page.evaluations,
            page.direction,
        ), baseline
        for figure in ("value", "projection", "trend_per_day"):
            assert getattr(strip, figure) == pytest.approx(getattr(page, figure), abs=1e-6)
    by_name = {r.baseline.name: r.status for r in reviewed.values()}
    assert by_name == {
        "steady": "on_track",
        "rising": "at_risk",
        "missed": "off_track",
        "falling": "at_risk",
        "gaps": "on_track",
        "noisy": "on_track",
        "instant": "off_track",
        "few": "insufficient_data",
        "unmeasured": "insufficient_data",
    }
    assert reviewed[next(b.pk for b in baselines if b.name == "gaps")].missing == 8
    assert reviewed[next(b.pk for b in baselines if b.name == "noisy")].missing == 1
    statuses = quarter_statuses([promises.pk], Q3, Q3.end)[promises.pk]
    assert sorted(statuses) == sorted(s for n, s in by_name.items() if n != "unmeasured")
