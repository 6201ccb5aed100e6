"""``/api/v1/programs/``, ``baselines/``, ``baselines/{id}/run/`` and ``deviations/``."""

from datetime import UTC, datetime

import pytest
from django_celery_beat.models import PeriodicTask

from apm import services
from apm.models import Baseline, Deviation
from tests import factories as f
from tests.support.history import EVAL_TIME
from tests.support.services import free_port

pytestmark = pytest.mark.django_db

AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)


@pytest.fixture
def live_prometheus(prometheus, settings):
    settings.PROMETHEUS_URL = prometheus.url
    return prometheus


def housing_payload(program, **changes):
    payload = {
        "program": program.pk,
        "name": "avg_wait_days",
        "target_value": 30,
        "compare_op": "le",
        "probe_kind": "promql",
        "probe_query": f.VALID_HOUSING_QUERY,
    }
    payload.update(changes)
    return payload


@pytest.mark.services
def test_staff_creates_the_seed_baseline_with_defaults(api, staff_alice, live_prometheus):
    program = f.program()
    response = api(staff_alice).post("/api/v1/baselines/", housing_payload(program))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["threshold_pct"] == 20
    assert body["schedule"] == "0 2 * * *"
    assert body["active"] is True
    assert body["probe_verified"] is True
    assert body["periodic_task"] == PeriodicTask.objects.get(name=f"apm baseline {body['id']}").pk


@pytest.mark.services
def test_seeds_invalid_promql_is_refused_through_the_api_and_nothing_is_saved(
    api, staff_alice, live_prometheus
):
    program = f.program()
    response = api(staff_alice).post(
        "/api/v1/baselines/", housing_payload(program, probe_query=f.SEED_INVALID_HOUSING_QUERY)
    )
    assert response.status_code == 400
    [message] = response.json()["probe_query"]
    assert message.startswith("Prometheus refused the query: ")
    assert "parse error: binary expression must contain only scalar" in message
    assert not Baseline.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="apm baseline").exists()


def test_unreachable_prometheus_saves_unverified_and_says_so(api, staff_alice, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    response = api(staff_alice).post("/api/v1/baselines/", housing_payload(f.program()))
    assert response.status_code == 201
    assert response.json()["probe_verified"] is False
    assert "Prometheus unreachable" in response.json()["probe_note"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target_value": 0}, "target_value", "percent deviation from 0 is undefined"),
        ({"probe_kind": "metric"}, "probe_query", "write FUNC(METRIC{service="),
        ({"compare_op": "lt"}, "compare_op", "not a valid choice"),
        ({"schedule": "0 25 * * *"}, "schedule", "hour: 25 is outside 0-23"),
        ({"threshold_pct": -1}, "threshold_pct", "greater than or equal to 0"),
        (
            {"probe_kind": "sql", "probe_query": "DELETE FROM apm_program"},
            "probe_query",
            "only a SELECT is allowed",
        ),
    ],
)
def test_bad_baselines_get_a_400_naming_the_field(api, staff_alice, changes, field, message):
    response = api(staff_alice).post("/api/v1/baselines/", housing_payload(f.program(), **changes))
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Baseline.objects.exists()


def test_duplicate_baseline_name_in_a_program_is_a_400(api, staff_alice):
    program = f.program()
    f.baseline(program, name="avg_wait_days")
    payload = housing_payload(program, probe_kind="sql", probe_query="SELECT 1")
    response = api(staff_alice).post("/api/v1/baselines/", payload)
    assert response.status_code == 400
    assert Baseline.objects.count() == 1


@pytest.mark.services
def test_run_endpoint_records_and_returns_the_new_deviation(
    api, staff_alice, live_prometheus, runs_at_history_are_live
):
    baseline = f.baseline(probe_kind="promql", probe_query=f.VALID_HOUSING_QUERY)
    response = api(staff_alice).post(
        f"/api/v1/baselines/{baseline.pk}/run/", {"at": AT.isoformat()}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "breach"
    assert body["actual"] == pytest.approx(37.2)
    assert body["deviation_pct"] == pytest.approx(24.0)
    assert body["trigger"] == "api"
    assert body["evidence"]["query"] == f.VALID_HOUSING_QUERY
    assert Deviation.objects.get().pk == body["id"]


def test_run_endpoint_refuses_a_bad_time(api, staff_alice):
    baseline = f.baseline()
    response = api(staff_alice).post(f"/api/v1/baselines/{baseline.pk}/run/", {"at": "tonight"})
    assert response.status_code == 400
    assert "at" in response.json()
    assert not Deviation.objects.exists()


def test_editing_a_baseline_through_the_api_keeps_its_periodic_task_in_step(api, staff_alice):
    baseline = f.baseline()
    client = api(staff_alice)
    response = client.patch(
        f"/api/v1/baselines/{baseline.pk}/", {"schedule": "30 6 * * 1-5", "active": False}
    )
    assert response.status_code == 200, response.json()
    task = PeriodicTask.objects.get(pk=response.json()["periodic_task"])
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "6", "1-5")
    assert task.enabled is False
    assert client.delete(f"/api/v1/baselines/{baseline.pk}/").status_code == 204
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_deviations_filter_by_baseline_status_and_since(api, staff_alice):
    program = f.program()
    red = f.baseline(program, probe_query="SELECT 50")
    green = f.baseline(program, probe_query="SELECT 10")
    old = services.run_baseline(red, at=datetime(2025, 1, 1, tzinfo=UTC))
    new_red = services.run_baseline(red, at=datetime(2026, 1, 1, tzinfo=UTC))
    services.run_baseline(green, at=datetime(2026, 1, 1, tzinfo=UTC))
    client = api(staff_alice)

    def ids(query):
        return [d["id"] for d in client.get(f"/api/v1/deviations/?{query}").json()["results"]]

    assert ids(f"baseline={red.pk}") == [new_red.pk, old.pk]
    assert ids("status=breach&since=2025-06-01T00:00:00Z") == [new_red.pk]
    assert len(ids("status=ok")) == 1
    assert client.get("/api/v1/deviations/?status=purple").status_code == 400


def test_program_with_baselines_cannot_be_deleted(api, staff_alice):
    baseline = f.baseline()
    response = api(staff_alice).delete(f"/api/v1/programs/{baseline.program_id}/")
    assert response.status_code == 409
    assert "still has baselines" in response.json()["detail"]


def test_list_endpoints_use_a_fixed_number_of_queries(api, staff_alice, django_assert_num_queries):
    for _ in range(3):
        program = f.program()
        for _ in range(2):
            baseline = f.baseline(program)
            services.run_baseline(baseline)
            services.run_baseline(baseline)

    def fresh_client():
        # a fresh user object: Django caches permissions on it after the first request
        return api(type(staff_alice).objects.get(pk=staff_alice.pk))

    clients = [fresh_client() for _ in range(3)]
    # the user's permissions (2), count, page; groups are a subquery; nothing per row
    with django_assert_num_queries(4):
        assert len(clients[0].get("/api/v1/programs/").json()["results"]) == 3
    with django_assert_num_queries(4):
        assert len(clients[1].get("/api/v1/baselines/").json()["results"]) == 6
    with django_assert_num_queries(4):
        assert len(clients[2].get("/api/v1/deviations/").json()["results"]) == 12


def test_apm_endpoints_are_in_the_openapi_schema(admin_client_token):
    schema = admin_client_token.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in ("/api/v1/programs/", "/api/v1/baselines/", "/api/v1/baselines/{id}/run/",
                 "/api/v1/deviations/"):  # fmt: skip
        assert path in paths, path
    run = paths["/api/v1/baselines/{id}/run/"]["post"]
    assert "201" in run["responses"]
    deviation_filters = {p["name"] for p in paths["/api/v1/deviations/"]["get"]["parameters"]}
    assert {"baseline", "status", "since"} <= deviation_filters
