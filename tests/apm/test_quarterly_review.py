"""The quarterly review (on track / at risk / off track) and explanations for missed quarters."""

from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from apm.models import Deviation, Explanation
from apm.review.quarters import Quarter, QuarterError
from apm.review.status import fit
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

Q3 = Quarter(2026, 3)  # July to September 2026, a closed quarter


def history(baseline, values, quarter=Q3):
    """One evaluation a week through the quarter, the values in order."""
    step = (quarter.end - quarter.start) / len(values)
    for i, value in enumerate(values):
        pct = baseline.deviation_pct(value)
        Deviation.objects.create(
            baseline=baseline,
            evaluated_at=quarter.start + step * i + timedelta(hours=1),
            actual=value,
            deviation_pct=pct,
            status="breach" if pct > baseline.threshold_pct else "ok",
            evidence={},
            trigger="schedule",
        )


@pytest.fixture
def housing():
    staff = f.group("Housing staff")
    program = f.program(code="fast-track", owner_group=staff)
    kept = f.baseline(program, name="avg_wait_days", target_value=30, clean=False)
    trending = f.baseline(program, name="approval_days", target_value=30, clean=False)
    missed = f.baseline(program, name="backlog_days", target_value=30, clean=False)
    history(kept, [25, 24, 26, 25, 25, 24, 26, 25, 25, 24, 26, 25, 25])
    # mean 30 (kept) but rising 2.5 a week: the line ends near 46 (missed)
    history(trending, [15 + 2.5 * i for i in range(13)])
    history(missed, [45, 46, 44, 45, 47, 45, 44, 46, 45, 45, 46, 44, 45])
    f.baseline(program, name="new_promise", target_value=10, clean=False)
    return program, staff


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def review(user, program, quarter="2026Q3"):
    response = client_for(user).get(f"/api/v1/programs/{program.pk}/review/?quarter={quarter}")
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["baselines"]}


def test_quarters_parse_and_refuse():
    assert Q3.start == datetime(2026, 7, 1, tzinfo=UTC)
    assert Q3.end == datetime(2026, 10, 1, tzinfo=UTC)
    assert str(Quarter.parse("2027q1")) == "2027Q1"
    assert Quarter(2026, 4).end == datetime(2027, 1, 1, tzinfo=UTC)
    for bad in ["2027Q5", "Q1 2027", "27Q1", "1999Q1", ""]:
        with pytest.raises(QuarterError):
            Quarter.parse(bad)


def test_least_squares_by_hand():
    intercept, slope = fit([(0, 1), (1, 3), (2, 5)])
    assert (intercept, slope) == pytest.approx((1, 2))


def test_kept_trending_and_missed_baselines(housing):
    program, _ = housing
    rows = review(f.viewer_user("viewer_bob"), program)

    assert rows["avg_wait_days"]["status"] == "on_track"
    assert rows["avg_wait_days"]["trend"] == "steady"

    trending = rows["approval_days"]
    assert trending["status"] == "at_risk"
    assert trending["value"] == pytest.approx(30.0)
    assert trending["trend"] == "worsening"
    # 2.5 a week over 13 evenly spaced points; read at the quarter's end (92 days)
    step_days = 92 / 13
    slope = 2.5 / step_days
    assert trending["trend_per_day"] == pytest.approx(slope, rel=1e-3)
    first_x = 1 / 24
    assert trending["projection"] == pytest.approx(15 + slope * (92 - first_x), rel=1e-3)

    assert rows["backlog_days"]["status"] == "off_track"
    assert rows["new_promise"]["status"] == "insufficient_data"
    assert rows["approval_days"]["explanation_due"] is True
    assert rows["backlog_days"]["explanation_due"] is True
    assert rows["avg_wait_days"]["explanation_due"] is False


def test_a_bad_quarter_is_a_400_naming_it(housing):
    program, _ = housing
    answer = client_for(f.viewer_user("viewer_bob")).get(
        f"/api/v1/programs/{program.pk}/review/?quarter=2026Q9"
    )
    assert answer.status_code == 400
    assert "quarter" in answer.json()


def test_an_outsider_cannot_see_the_review(housing):
    program, _ = housing
    outsider = f.staff_user("outsider_carol", f.group("Other staff"))
    assert client_for(outsider).get(f"/api/v1/programs/{program.pk}/review/").status_code == 404


def test_staff_explain_a_missed_quarter_and_every_edit_is_versioned_and_audited(housing):
    program, staff = housing
    alice = f.staff_user("staff_alice", staff)
    missed = program.baselines.get(name="backlog_days")
    body = {
        "baseline": missed.pk,
        "period": "2026q3",
        "why": "Two caseworkers left in July.",
        "plan": "Hire two; weekend clinics in October.",
        "due_date": "2026-12-31",
    }
    created = client_for(alice).post("/api/v1/explanations/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["period"] == "2026Q3"
    assert created.json()["author"] == "staff_alice"
    changed = client_for(alice).patch(
        f"/api/v1/explanations/{created.json()['id']}/", {"plan": "Hire three."}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    assert [v["plan"] for v in changed.json()["versions"]] == [body["plan"], "Hire three."]
    entries = AuditEntry.objects.filter(topic="apm.explanation").order_by("id")
    assert [e.payload["version"] for e in entries] == [1, 2]
    assert entries[1].actor == "staff_alice"

    rows = review(alice, program)
    assert rows["backlog_days"]["explanation_due"] is False
    assert rows["backlog_days"]["explanation"]["why"] == body["why"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period": "2026Q7"}, "period"),
        ({"due_date": "soon"}, "due_date"),
        ({"why": ""}, "why"),
        ({"baseline": 999999}, "baseline"),
    ],
)
def test_bad_explanations_are_400_naming_the_field(housing, change, field):
    program, staff = housing
    alice = f.staff_user("staff_alice", staff)
    body = {
        "baseline": program.baselines.get(name="backlog_days").pk,
        "period": "2026Q3",
        "why": "x",
        "plan": "y",
        "due_date": "2026-12-31",
        **change,
    }
    answer = client_for(alice).post("/api/v1/explanations/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Explanation.objects.exists()


def test_only_the_programs_staff_may_explain(housing):
    program, _ = housing
    bob = f.viewer_user("viewer_bob")
    carol = f.staff_user("outsider_carol", f.group("Other staff"))
    body = {
        "baseline": program.baselines.get(name="backlog_days").pk,
        "period": "2026Q3",
        "why": "x",
        "plan": "y",
        "due_date": str(date(2026, 12, 31)),
    }
    assert client_for(bob).post("/api/v1/explanations/", body, format="json").status_code == 403
    assert client_for(carol).post("/api/v1/explanations/", body, format="json").status_code == 400
    assert not Explanation.objects.exists()


def test_the_review_is_four_statements_for_200_baselines(django_assert_max_num_queries):
    program = f.program(code="big")
    baselines = [
        f.baseline(program, name=f"b{i}", target_value=30, clean=False) for i in range(200)
    ]
    for b in baselines[:20]:
        history(b, [25, 26, 27])
    viewer = f.viewer_user("viewer_bob")
    client = client_for(viewer)
    with django_assert_max_num_queries(8):
        answer = client.get(f"/api/v1/programs/{program.pk}/review/?quarter=2026Q3")
    assert len(answer.json()["baselines"]) == 200


def test_the_review_page_for_executives(client, housing):
    _, staff = housing
    alice = f.staff_user("staff_alice", staff)
    client.force_login(alice)
    page = client.get("/dashboard/review/?quarter=2026Q3")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Quarterly review — 2026Q3" in html
    assert html.index("backlog_days") < html.index("approval_days") < html.index("avg_wait_days")
    assert "Off track" in html and "At risk" in html and "On track" in html
    assert html.count("Explanation due") == 2
    only = client.get("/dashboard/review/?quarter=2026Q3&owner=Nobody").content.decode()
    assert "No promise to review with these filters" in only
    bad = client.get("/dashboard/review/?quarter=2026Q9")
    assert bad.status_code == 200
    assert "is not a quarter" in bad.content.decode()


def test_the_review_page_is_five_statements_for_200_baselines(
    client, django_assert_max_num_queries
):
    program = f.program(code="big")
    for i in range(200):
        b = f.baseline(program, name=f"b{i}", target_value=30, clean=False)
        if i < 20:
            history(b, [25, 26, 27])
    client.force_login(f.viewer_user("viewer_bob"))
    with django_assert_max_num_queries(10):
        page = client.get("/dashboard/review/?quarter=2026Q3")
    assert page.content.decode().count('data-label="Status"') == 200


def test_staff_write_an_explanation_in_the_admin(client, housing):
    program, staff = housing
    alice = f.staff_user("staff_alice", staff)
    client.force_login(alice)
    missed = program.baselines.get(name="backlog_days")
    form = {
        "baseline": missed.pk,
        "period": "2026q3",
        "why": "Two caseworkers left.",
        "plan": "Hire two.",
        "due_date": "2026-12-31",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    answer = client.post("/admin/apm/explanation/add/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    explanation = Explanation.objects.get()
    assert (explanation.period, explanation.author, explanation.version) == ("2026Q3", alice, 1)
    assert AuditEntry.objects.filter(topic="apm.explanation").count() == 1
    refused = client.post("/admin/apm/explanation/add/", {**form, "period": "soon"})
    assert refused.status_code == 200
    assert "is not a quarter" in refused.content.decode()


def test_a_missed_quarter_is_due_until_explained_then_the_public_page_shows_it(client, housing):
    program, staff = housing
    program.public = True
    program.save()
    alice = f.staff_user("staff_alice", staff)
    assert review(alice, program)["backlog_days"]["explanation_due"] is True
    assert "Why the target was missed" not in client.get("/public/").content.decode()
    body = {
        "baseline": program.baselines.get(name="backlog_days").pk,
        "period": "2026Q3",
        "why": "Two caseworkers left in July.",
        "plan": "Hire two; weekend clinics.",
        "due_date": "2026-12-31",
    }
    assert client_for(alice).post("/api/v1/explanations/", body, format="json").status_code == 201
    assert review(alice, program)["backlog_days"]["explanation_due"] is False
    page = client.get("/public/").content.decode()  # logged out
    assert "Why the target was missed (2026Q3):" in page
    assert "Two caseworkers left in July." in page
    assert "31 December 2026" in page
