"""POST /api/v1/services/{id}/backtest/: the SLO replayed with candidate settings gives the
evaluator's own states, the incidents and actions the playbook would plan, and writes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from ops import backtest
from ops.models import Service
from ops.services import register_service
from tests import factories as f

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)
URL = "/api/v1/services/DCA_Luggage_Scanner/backtest/"


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


@pytest.fixture
def scanner():
    # The seed's scanner: p95 queue_time_seconds over 300 s <= 30, and its playbook.
    playbook = (
        "playbook:\n  - if: slo_breach\n    then: scale_up compute=+2\n"
        "  - if: still_breach_after 60\n    then: page channel=tsa_ops, severity=critical\n"
        "  - always:\n    log_to: HMS-DTA\n"
    )
    register_service(f.service_yaml() + playbook)
    # 10 minutes at 20 s, 10 minutes at 45 s, 10 minutes at 20 s: one sample a minute.
    values = [20.0] * 10 + [45.0] * 10 + [20.0] * 10
    f.readings("DCA_Luggage_Scanner", values, end=T0 + timedelta(minutes=29), step=60)
    return Service.objects.get(pk="DCA_Luggage_Scanner")


def data(**extra):
    since, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=29)
    return {"since": since.isoformat(), "until": until.isoformat(), "step": "1m", **extra}


def test_a_breach_opens_one_incident_plans_its_actions_and_resolves(scanner, admin_client_token):
    before = counts()
    response = admin_client_token.post(URL, data(), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert counts() == before
    assert body["evaluations"] == 29
    states = [p["state"] for p in body["points"]]
    assert states[0] == "healthy" and "breached" in states and states[-1] == "healthy"
    assert len(body["incidents"]) == 1
    incident = body["incidents"][0]
    assert incident["opened_at"] < incident["resolved_at"]
    planned = {(a["trigger"], a["action"], a["skipped"]) for a in body["actions"]}
    assert planned == {
        ("slo_breach", "scale_up", ""),
        ("still_breach_after", "page", ""),  # still breached 60 s after it began
        ("always", "log_to", ""),
    }
    assert body["breaches"] == states.count("breached")


def test_a_candidate_threshold_above_the_breach_opens_nothing(scanner, admin_client_token):
    body = admin_client_token.post(URL, data(threshold=50), format="json").json()
    assert body["breaches"] == 0 and body["incidents"] == [] and body["actions"] == []


def test_the_states_are_the_evaluators(scanner):
    from ops import slo

    answer = backtest.run(scanner, data(), now=T0 + timedelta(days=1))
    for point in answer["points"][::5]:
        at = datetime.fromisoformat(point["at"])
        slo.evaluate_all(at)
        scanner.slos.get().refresh_from_db()
        assert scanner.slos.get().state == point["state"], point


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"threshold": "x"}, "threshold"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": 10**9}, "window_seconds"),
        ({"percentile": 101}, "percentile"),
        ({"percentile": -1}, "percentile"),
        ({"min_samples": 0}, "min_samples"),
        ({"slo": "nope"}, "slo"),
        ({"step": "1x"}, "step"),
        ({"since": "2026-13-01T00:00:00Z"}, "since"),
        ({"until": "2999-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(scanner, admin_client_token, change, field):
    response = admin_client_token.post(URL, data(**change), format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_an_unknown_service_is_a_404(admin_client_token):
    assert admin_client_token.post("/api/v1/services/nope/backtest/", data()).status_code == 404


def test_the_service_admin_has_a_backtest_page_with_a_chart(scanner, client, admin_user):
    client.force_login(admin_user)
    change = client.get("/admin/ops/service/DCA_Luggage_Scanner/change/").content.decode()
    assert "/admin/ops/service/DCA_Luggage_Scanner/backtest/" in change
    page = "/admin/ops/service/DCA_Luggage_Scanner/backtest/"
    assert client.get(page).status_code == 200
    before = counts()
    form = {"since": "2026-11-01 00:01", "until": "2026-11-01 00:29", "step": "1m"}
    html = client.post(page, form).content.decode()
    assert counts() == before
    assert 'aria-label="backtest values"' in html and html.count("<circle") == 29
    assert "<th>incidents that would open</th><td>1</td>" in html
    assert "<td>slo_breach</td><td>scale_up</td><td>no</td>" in html
    refused = client.post(page, {**form, "step": "1x"}).content.decode()
    assert "a duration like 30m, 6h or 1d" in refused


def test_a_user_without_the_view_permission_has_no_service_backtest_page(scanner, client):
    user = f.staff_user("staff_nobody")
    client.force_login(user)
    response = client.get("/admin/ops/service/DCA_Luggage_Scanner/backtest/")
    assert response.status_code == 403
