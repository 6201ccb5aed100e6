"""POST /api/v1/baselines/{id}/backtest/: input errors are 400s naming the field, the work is
bounded, and nothing is written anywhere (every table's row count)."""

import pytest
from django.apps import apps

from tests import factories as f

pytestmark = pytest.mark.django_db
GOOD = {"since": "2026-01-01T00:00:00Z", "until": "2026-01-05T00:00:00Z", "step": "1d"}


def url(b):
    return f"/api/v1/baselines/{b.pk}/backtest/"


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_a_sql_backtest_answers_the_contract_and_writes_no_row(admin_client_token):
    b = f.baseline(target_value=30, threshold_pct=20)  # SELECT 37.2: 24 % over, a breach
    f.slack_route(b.program)
    before = counts()
    response = admin_client_token.post(url(b), GOOD, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    for key in ("evaluations", "breaches", "escalations_opened", "notifications",
                "leadership_reviews", "points"):  # fmt: skip
        assert key in body
    assert (body["evaluations"], body["breaches"], body["escalations_opened"]) == (5, 5, 1)
    assert body["notifications"] == 1  # opened once, never raised, never resolved
    assert body["points"][0] == {
        "at": "2026-01-01T00:00:00+00:00",
        "actual": 37.2,
        "deviation_pct": 24.0,
        "status": "breach",
        "escalation": "open",
        "reason": "",
    }
    assert counts() == before
    kept = admin_client_token.post(url(b), {**GOOD, "threshold_pct": 30}, format="json").json()
    assert kept["breaches"] == 0 and kept["escalations_opened"] == 0
    assert counts() == before


def test_the_default_step_is_the_schedules_interval(admin_client_token):
    b = f.baseline(schedule="0 */6 * * *")
    body = admin_client_token.post(url(b), {**GOOD, "step": None}, format="json").json()
    assert body["step_seconds"] == 6 * 3600 and body["evaluations"] == 17


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"since": None}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no time zone
        ({"until": "2025-12-31T00:00:00Z"}, "until"),  # before since
        ({"until": "2099-01-01T00:00:00Z"}, "until"),  # the future
        ({"since": "2020-01-01T00:00:00Z"}, "since"),  # over the longest range
        ({"step": "1m"}, "step"),  # too many points
        ({"step": "10s"}, "step"),
        ({"step": "1w"}, "step"),
        ({"step": "-1d"}, "step"),
        ({"step": []}, "step"),
        ({"target_value": 0}, "target_value"),
        ({"target_value": "nan"}, "target_value"),
        ({"target_value": "ten"}, "target_value"),
        ({"target_value": True}, "target_value"),
        ({"threshold_pct": -1}, "threshold_pct"),
        ({"compare_op": "lt"}, "compare_op"),
        ({"min_samples": 0}, "min_samples"),
        ({"min_samples": 2.5}, "min_samples"),
        ({"period": "week"}, "period"),
        ({"period": "quarter"}, "probe_query"),  # the query does not take the period
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_client_token, change, field):
    b = f.baseline()
    before = counts()
    response = admin_client_token.post(url(b), {**GOOD, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert counts() == before


def test_a_body_that_is_not_an_object_is_a_400(admin_client_token):
    b = f.baseline()
    response = admin_client_token.post(url(b), [1, 2], format="json")
    assert response.status_code == 400


def test_a_rolling_query_using_the_period_is_refused_at_save(admin_client_token):
    p = f.program()
    response = admin_client_token.post(
        "/api/v1/baselines/",
        {
            "program": p.pk,
            "name": "q",
            "target_value": 3,
            "probe_kind": "promql",
            "probe_query": "avg_over_time(x[$__range])",
        },
        format="json",
    )
    assert response.status_code == 400 and "period" in response.json()
    response = admin_client_token.post(
        "/api/v1/baselines/",
        {
            "program": p.pk,
            "name": "q",
            "target_value": 3,
            "probe_kind": "promql",
            "probe_query": "avg_over_time(x[$__range])",
            "period": "quarter",
            "period_tz": "Mars/Base",
        },
        format="json",
    )
    assert response.status_code == 400 and "period_tz" in response.json()
