"""``min_samples`` on PromQL baselines against the real private Prometheus: the count
companion or the baseline's ``count_query`` rides in the run's one request
(apm.probes.promql_count); the default ``min_samples=1`` stays one bare query."""

import json
from datetime import UTC, datetime

import pytest
import urllib3
from django.core.exceptions import ValidationError

from apm import services
from apm.models import Baseline, Escalation
from apm.probes import promql
from tests import factories as f
from tests.support.history import EVAL_TIME

pytestmark = [pytest.mark.django_db, pytest.mark.services]

AT = datetime.fromtimestamp(EVAL_TIME, tz=UTC)
SCANNER_HOUR = "avg_over_time(scanner_queue_seconds[1h])"  # 38.0 in every sample


@pytest.fixture
def live_prometheus(prometheus, settings):
    settings.PROMETHEUS_URL = prometheus.url
    return prometheus


@pytest.fixture
def asked(monkeypatch):
    """The queries the probe sends, in order (endpoint, query)."""
    sent = []
    real = promql._pool.request

    def recording(method, url, fields=None, **kw):
        sent.append((url.rsplit("/", 1)[-1], fields["query"]))
        return real(method, url, fields=fields, **kw)

    monkeypatch.setattr(promql._pool, "request", recording)
    return sent


def direct_count(prometheus, query: str) -> int:
    """The source's own answer, asked with bare urllib3 beside the probe."""
    answer = urllib3.PoolManager().request(
        "GET", f"{prometheus.url}/api/v1/query", fields={"query": query, "time": str(EVAL_TIME)}
    )
    return int(float(json.loads(answer.data)["data"]["result"][0]["value"][1]))


def promql_baseline(**fields):
    fields.setdefault("probe_kind", Baseline.ProbeKind.PROMQL)
    fields.setdefault("probe_query", SCANNER_HOUR)
    fields.setdefault("target_value", 30)  # 38 is a 26.7 % breach
    return f.baseline(**fields)


def test_the_companion_count_rides_in_the_runs_one_request(live_prometheus, asked):
    samples = direct_count(live_prometheus, "count_over_time(scanner_queue_seconds[1h])")
    assert samples >= 4  # a sample every 15 minutes
    enough = promql_baseline(min_samples=samples)
    short = promql_baseline(min_samples=samples + 1)
    asked.clear()

    judged = services.run_baseline(enough, at=AT)
    assert len(asked) == 1 and asked[0][0] == "query"
    assert "count_over_time(scanner_queue_seconds[1h])" in asked[0][1]
    assert (judged.status, judged.sample_count, judged.actual) == ("breach", samples, 38.0)
    assert f"{samples} sample(s)" in judged.source
    assert judged.evidence["raw_result"]["result"][0]["value"][1] == "38"  # no labels kept

    asked.clear()
    grey = services.run_baseline(short, at=AT)
    assert len(asked) == 1
    assert (grey.status, grey.sample_count, grey.actual) == ("insufficient_data", samples, 38.0)
    assert grey.evidence["insufficient_data"].startswith(f"{samples} sample(s)")
    assert not Escalation.objects.filter(baseline=short).exists()
    assert Escalation.objects.filter(baseline=enough).exists()


def test_min_samples_one_stays_one_bare_query(live_prometheus, asked):
    b = promql_baseline()
    asked.clear()
    deviation = services.run_baseline(b, at=AT)
    assert asked == [("query", SCANNER_HOUR)]
    assert deviation.status == "breach" and deviation.sample_count is None


def test_a_count_query_counts_a_query_with_no_companion(live_prometheus, asked):
    count_query = "sum(count_over_time(housing_wait_count[7d]))"
    samples = direct_count(live_prometheus, count_query)
    assert samples > 600  # 7 days at 15-minute steps
    b = promql_baseline(
        probe_query=f.VALID_HOUSING_QUERY, count_query=count_query, min_samples=samples
    )
    assert b.probe_verified is True
    asked.clear()
    deviation = services.run_baseline(b, at=AT)
    assert len(asked) == 1
    assert (deviation.status, deviation.sample_count) == ("breach", samples)
    assert deviation.actual == pytest.approx(37.2)
    b.min_samples = samples + 1
    assert services.run_baseline(b, at=AT).status == "insufficient_data"


def test_an_empty_count_is_no_data(live_prometheus):
    b = promql_baseline(probe_query="avg_over_time(no_such_series[1h])", min_samples=3, clean=False)
    deviation = services.run_baseline(b, at=AT)
    assert (deviation.status, deviation.sample_count) == ("no_data", 0)


def test_a_scalar_query_is_asked_as_two_queries_at_once(live_prometheus, asked):
    query = f"scalar({SCANNER_HOUR})"  # label_replace takes no scalar: the joined form fails
    samples = direct_count(live_prometheus, "count_over_time(scanner_queue_seconds[1h])")
    b = promql_baseline(probe_query=query, min_samples=samples + 1)
    asked.clear()
    deviation = services.run_baseline(b, at=AT)
    assert len(asked) == 3 and "label_replace" in asked[0][1]
    assert sorted(q for _, q in asked[1:]) == sorted(
        [query, "sum(count_over_time(scanner_queue_seconds[1h]))"]
    )
    assert (deviation.status, deviation.sample_count, deviation.actual) == (
        "insufficient_data",
        samples,
        38.0,
    )


def test_a_count_query_returning_several_series_is_an_error(live_prometheus):
    b = promql_baseline(
        count_query="count_over_time({__name__=~'housing_wait_count|scanner_queue_seconds'}[1h])",
        min_samples=2,
    )
    deviation = services.run_baseline(b, at=AT)
    assert deviation.status == "error"
    assert "count query returned 2 series" in deviation.evidence["error"]


def test_saving_refuses_min_samples_without_a_way_to_count_naming_count_query(live_prometheus):
    with pytest.raises(ValidationError) as refused:
        promql_baseline(probe_query=f.VALID_HOUSING_QUERY, min_samples=5)
    assert set(refused.value.message_dict) == {"count_query", "min_samples"}
    assert "Required when min_samples is above 1" in refused.value.message_dict["count_query"][0]
    with pytest.raises(ValidationError) as parse:
        promql_baseline(count_query="sum(count_over_time(x[7d])", min_samples=5)
    assert "Prometheus refused the query" in parse.value.message_dict["count_query"][0]
    with pytest.raises(ValidationError) as sql:
        f.baseline(count_query="sum(count_over_time(x[7d]))")
    assert "Only a PromQL baseline" in sql.value.message_dict["count_query"][0]
    with pytest.raises(ValidationError) as period:
        promql_baseline(count_query="sum(count_over_time(x[$__range]))", min_samples=5)
    assert "do not use" in period.value.message_dict["count_query"][0]
    assert not Baseline.objects.exists()


def test_the_api_takes_and_returns_count_query_and_names_it_when_missing(
    live_prometheus, admin_client_token
):
    program = f.program()
    body = {
        "program": program.pk,
        "name": "wait",
        "target_value": 30,
        "probe_kind": "promql",
        "probe_query": f.VALID_HOUSING_QUERY,
        "min_samples": 5,
    }
    refused = admin_client_token.post("/api/v1/baselines/", body, format="json")
    assert refused.status_code == 400 and "count_query" in refused.json()
    body["count_query"] = "sum(count_over_time(housing_wait_count[7d]))"
    made = admin_client_token.post("/api/v1/baselines/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["count_query"] == body["count_query"]
    assert Baseline.objects.get().count_query == body["count_query"]
