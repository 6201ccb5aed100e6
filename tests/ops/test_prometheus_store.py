"""The ``prometheus`` metrics store against the real Debian Prometheus (2.42) on loopback.

What the shared store suite (test_metrics_store.py) cannot say: what reaches the
engine (names, labels, milliseconds, order), that a read is one request per group,
that an engine which is down or refuses a batch never loses or half-writes one,
and that an APM ``promql`` probe reads OPS samples directly.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ops.metrics.store import CountQuery, StoreUnavailable, WindowQuery, get_store
from ops.metrics.store.promwire import decode, encode, label_problem, metric_name, series_labels
from tests.factories import api_client, make_service, staff_alice
from tests.support.http_server import LoopbackServer, Reply, Script
from tests.support.remote_write import RemoteWritePrometheus
from tests.support.services import free_port

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/"
SCANNER = "DCA_Luggage_Scanner"
METRIC = "queue_time_seconds"


def sample(value, ts, service=SCANNER, **extra):
    return {"service": service, "name": METRIC, "value": value, "ts": ts, **extra}


_clients = {}


@pytest.fixture(autouse=True)
def _one_user():
    _clients.clear()
    yield
    _clients.clear()


def post(body):
    """POST as staff Alice (one user per test)."""
    if "alice" not in _clients:
        _clients["alice"] = api_client(staff_alice())
    return _clients["alice"].post(URL, body, format="json")


# --- the wire -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,clean",
    [("queue_time_seconds", "queue_time_seconds"), ("a:b_c", "a:b_c"), ("lat.p95", "lat_p95"),
     ("9lives", "_9lives"), ("über-zeit", "_ber_zeit"), ("", "_")],
)  # fmt: skip
def test_metric_names_follow_prometheus_rules(raw, clean):
    assert metric_name(raw) == clean


@pytest.mark.parametrize(
    "name,refused",
    [("lane", False), ("_lane2", False), ("service", True), ("__name__", True),
     ("__lane", True), ("lane-4", True), ("4lane", True), ("la ne", True), ("", True)],
)  # fmt: skip
def test_label_names_prometheus_cannot_take_are_named(name, refused):
    assert (label_problem(name) is not None) is refused


def test_a_write_request_round_trips_with_sorted_labels_and_samples_in_time_order():
    labels = series_labels("svc.a", "latency", {"zone": "b", "lane": "4"})
    assert [k for k, _ in labels] == ["__name__", "lane", "service", "zone"]
    body = encode({labels: [(2000, 2.0), (1000, 1.0), (3000, 3.0)]})
    assert decode(body) == {labels: [(1000, 1.0), (2000, 2.0), (3000, 3.0)]}


@pytest.mark.parametrize(
    "services,other",
    [(["B.Svc"], "BxSvc"), (["a|b"], "a"), (["x.*"], "xyz"), (['q"}or vector(1)#'], "q"),
     (["a\\b"], "ab"), (["c-d", "e"], "cd")],
)  # fmt: skip
def test_a_selector_matches_exactly_its_services_whatever_they_contain(services, other):
    """Service ids go into a regex inside a PromQL string: escaped for both, so a dot, a
    bar or a quote is itself and cannot widen the selector or end the string."""
    import json
    import re

    from ops.metrics.store.promhttp import alternatives, selector

    pattern = json.loads(f'"{alternatives(services)}"')  # the PromQL string's value
    assert all(re.fullmatch(pattern, s) for s in services)
    assert re.fullmatch(pattern, other) is None
    # four unescaped quotes: the two strings of the selector, none ended early
    assert len(re.findall(r'(?<!\\)"', selector("m", services))) == 4


# --- writes through the ingest API ----------------------------------------------------


def test_ingest_reaches_prometheus_with_name_service_labels_and_milliseconds(prometheus_store):
    make_service(SCANNER)
    now = timezone.now().replace(microsecond=123_456)  # stored as .123 s: milliseconds
    batch = [  # one series out of time order in the batch: sent sorted
        sample(2.0, (now - timedelta(seconds=1)).isoformat(), labels={"lane": "4"}),
        sample(1.0, (now - timedelta(seconds=2)).isoformat(), labels={"lane": "4"}),
        sample(7.0, now.isoformat()),
    ]
    assert post({"samples": batch}).status_code == 201
    found = prometheus_store.query(f'{METRIC}{{service="{SCANNER}"}}[1m]', now.timestamp() + 1)
    by_labels = {
        tuple(sorted(s["metric"].items())): [(round(t * 1000), v) for t, v in s["values"]]
        for s in found
    }
    ms = int(now.timestamp()) * 1000 + 123
    assert by_labels == {
        (("__name__", METRIC), ("lane", "4"), ("service", SCANNER)): [
            (ms - 2000, "1"),
            (ms - 1000, "2"),
        ],
        (("__name__", METRIC), ("service", SCANNER)): [(ms, "7")],
    }


def _count(server, service=SCANNER, at=None) -> int:
    at = at or timezone.now().timestamp() + 1
    found = server.query(f'count_over_time({METRIC}{{service="{service}"}}[1h])', at)
    return sum(int(s["value"][1]) for s in found)


def test_prometheus_refused_on_loopback_is_a_503_with_retry_after_and_nothing_stored(
    prometheus_store, settings
):
    make_service(SCANNER)
    settings.HMS_REMOTE_WRITE_URL = f"http://127.0.0.1:{free_port()}/api/v1/write"
    now = timezone.now().timestamp()
    response = post({"samples": [sample(1.0, now - 1), sample(2.0, now)]})
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert "unreachable" in response.json()["detail"]
    settings.HMS_REMOTE_WRITE_URL = prometheus_store.write_url
    assert _count(prometheus_store) == 0
    assert post({"samples": [sample(1.0, now - 1), sample(2.0, now)]}).status_code == 201
    assert _count(prometheus_store) == 2


@pytest.mark.parametrize(
    "reply,retry_after",
    [(Reply(503, "overloaded", {"Retry-After": "17"}), "17"), (Reply(500, "boom"), "5"),
     (Reply(429, "slow down", {"Retry-After": "30"}), "30"),
     (Reply(404, "404 page not found"), "5"), (Reply(401, "no token"), "5")],
)  # fmt: skip
def test_an_engine_failing_or_misconfigured_is_a_503_never_a_drop(settings, reply, retry_after):
    """5xx/429 (with the engine's Retry-After) and 401/404 (a wrong URL or credentials: the
    batch is not at fault, the client keeps it) all answer 503."""
    make_service(SCANNER)
    settings.HMS_METRICS_STORE = "prometheus"
    with LoopbackServer(Script(reply)) as engine:
        settings.HMS_REMOTE_WRITE_URL = f"{engine.url}/api/v1/write"
        response = post(sample(1.0, timezone.now().timestamp()))
        assert response.status_code == 503
        assert response["Retry-After"] == retry_after
        (request,) = engine.requests
    assert request.headers["content-encoding"] == "snappy"
    assert request.headers["x-prometheus-remote-write-version"] == "0.1.0"
    ((labels, points),) = decode(request.body).items()
    assert dict(labels) == {"__name__": METRIC, "service": SCANNER}
    assert [v for _, v in points] == [1.0]


def test_a_timeout_is_a_503(settings):
    make_service(SCANNER)
    settings.HMS_METRICS_STORE = "prometheus"
    settings.HMS_PROMETHEUS_TIMEOUT_SECONDS = 0.3
    with LoopbackServer(Script(Reply(204, b"", delay=2.0))) as engine:
        settings.HMS_REMOTE_WRITE_URL = f"{engine.url}/api/v1/write"
        response = post(sample(1.0, timezone.now().timestamp()))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


@pytest.fixture
def strict_prometheus(tmp_path, settings):
    """A Prometheus without out_of_order_time_window: late samples are refused."""
    server = RemoteWritePrometheus(tmp_path, out_of_order=None).start()
    settings.HMS_METRICS_STORE = "prometheus"
    settings.HMS_REMOTE_WRITE_URL = server.write_url
    settings.HMS_METRICS_QUERY_URL = server.url
    yield server
    server.stop()


def test_a_batch_prometheus_refuses_is_a_409_naming_why_and_none_of_it_is_stored(
    strict_prometheus,
):
    make_service(SCANNER)
    make_service("Other_Scanner")
    now = timezone.now().timestamp()
    assert post(sample(5.0, now)).status_code == 201
    late = [sample(1.0, now - 1, service="Other_Scanner"), sample(2.0, now - 1)]
    response = post({"samples": late})
    assert response.status_code == 409
    assert "out of order sample" in response.json()["samples"][0]
    assert "nothing was stored" in response.json()["samples"][0]
    assert _count(strict_prometheus, "Other_Scanner") == 0  # the good series went nowhere
    assert _count(strict_prometheus) == 1


def test_a_sample_older_than_the_head_block_is_refused_as_out_of_bounds(strict_prometheus):
    make_service(SCANNER)
    now = timezone.now().timestamp()
    assert post(sample(5.0, now)).status_code == 201
    response = post(sample(1.0, now - 86_400, labels={"lane": "new"}))
    assert response.status_code == 409
    assert "out of bounds" in response.json()["samples"][0]


def test_a_resent_batch_is_counted_once_with_an_out_of_order_window(prometheus_store):
    """A client that lost the first answer sends again: stored once (the session's server
    has out_of_order_time_window, as docs/METRICS.md advises)."""
    make_service(SCANNER)
    now = timezone.now().timestamp()
    batch = {"samples": [sample(1.0, now - 1), sample(2.0, now)]}
    assert post(batch).status_code == 201
    assert post(batch).status_code == 201
    assert _count(prometheus_store) == 2


def test_without_that_window_a_resent_batch_is_refused_and_the_first_copy_stays(
    strict_prometheus,
):
    make_service(SCANNER)
    now = timezone.now().timestamp()
    batch = {"samples": [sample(1.0, now - 1), sample(2.0, now)]}
    assert post(batch).status_code == 201
    response = post(batch)
    assert response.status_code == 409
    assert "out of order sample" in response.json()["samples"][0]
    assert _count(strict_prometheus) == 2


@pytest.mark.parametrize(
    "labels,named",
    [({"service": "x"}, "reserved"), ({"__meta": "x"}, "reserved by Prometheus"),
     ({"lane-4": "x"}, "not a Prometheus label name"), ({"lane": ""}, "empty")],
)  # fmt: skip
def test_labels_prometheus_cannot_keep_are_a_400_naming_the_sample(prometheus_store, labels, named):
    make_service(SCANNER)
    now = timezone.now().timestamp()
    response = post({"samples": [sample(1.0, now), sample(2.0, now, labels=labels)]})
    assert response.status_code == 400
    assert named in response.json()["samples"]["1"]["labels"][0]
    assert _count(prometheus_store) == 0


# --- reads: the same answers as the database store, one request per group --------------

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _history(store_names=("database", "prometheus")):
    """Three services, one with two label sets, samples every 10 s for 20 minutes, some
    exactly on window edges; written through each store's ``write``."""
    from ops.metrics.validation import labels_key

    rows, series = [], {}
    for service, labels, base in [("A_Svc", {}, 0.0), ("B.Svc", {}, 100.0),
                                  ("B.Svc", {"lane": "2"}, 50.0), ("C-Svc", {}, 7.0)]:  # fmt: skip
        key = (service, METRIC, labels_key(labels))
        series[key] = labels
        for i in range(120):
            ts = T0 - timedelta(seconds=10 * i)
            value = base + (i * 37) % 23
            rows.append((key, int(ts.timestamp()) * 1_000_000, float(value), labels))
    for name in store_names:
        get_store(name).write(series, [rows])
    return rows


@pytest.fixture
def both(prometheus_store):
    for sid in ("A_Svc", "B.Svc", "C-Svc"):
        make_service(sid)
    _history()
    return get_store("database"), get_store("prometheus"), prometheus_store


def _served_by(server, read, handler="/api/v1/query") -> int:
    """How many requests the real Prometheus answered on ``handler`` during ``read()``."""
    before = server.requests_served(handler)
    read()
    return server.requests_served(handler) - before


STATISTICS = ["p95", "p50", "p99.9", "avg", "min", "max", "sum", "count", "last"]


@pytest.mark.parametrize("statistic", STATISTICS)
def test_window_stats_answer_as_the_database_store_does(both, statistic):
    """Windows on and off sample times (the edge sample at at - window is out), a service
    with two label sets (pooled percentile), a service without data."""
    database, prometheus, _ = both
    cases = [
        (s, w, d)
        for s in ("A_Svc", "B.Svc", "C-Svc", "Nobody")
        for w in (60, 300, 301)
        for d in (0, 5, 1190)
    ]
    queries = [
        WindowQuery(service, METRIC, window, T0 - timedelta(seconds=shift), statistic, key=n)
        for n, (service, window, shift) in enumerate(cases)
    ]
    expected = database.window_stats(queries)
    found = prometheus.window_stats(queries)
    assert [(f.query.key, f.samples, f.newest) for f in found] == [
        (e.query.key, e.samples, e.newest) for e in expected
    ]
    for f, e in zip(found, expected, strict=True):
        assert (f.value is None) == (e.value is None), f.query
        if e.value is not None:
            assert f.value == pytest.approx(e.value, rel=1e-9), f.query
    assert any(e.value is not None for e in expected) and any(e.value is None for e in expected)


def test_one_query_per_group_of_slos_sharing_metric_window_and_percentile(both):
    _, prometheus, server = both
    queries = [
        WindowQuery(s, METRIC, 300, T0, "p95", key=(s, 1)) for s in ("A_Svc", "C-Svc", "Nobody")
    ] + [WindowQuery(s, METRIC, 300, T0, "p99", key=(s, 2)) for s in ("A_Svc", "C-Svc")]
    assert _served_by(server, lambda: prometheus.window_stats(queries)) == 2  # not 5
    pooled = [WindowQuery(s, METRIC, 300, T0, "p90") for s in ("A_Svc", "B.Svc", "C-Svc")]
    # B.Svc has two label sets: its percentile needs its raw samples, one more request
    assert _served_by(server, lambda: prometheus.window_stats(pooled)) == 2
    many = [WindowQuery(s, METRIC, 60, T0, "max") for s in ("A_Svc", "B.Svc", "C-Svc")] * 50
    assert _served_by(server, lambda: prometheus.window_stats(many)) == 1


def test_a_newest_sample_older_than_the_lookback_is_still_found(both):
    """``timestamp()`` looks back 5 minutes; a window whose newest sample is older takes
    the companion subquery, for those services only."""
    database, prometheus, server = both
    late = T0 + timedelta(minutes=30)  # the newest sample is 30 min old, inside the window
    queries = [WindowQuery(s, METRIC, 3600, late, "p95") for s in ("A_Svc", "C-Svc")]
    found = prometheus.window_stats(queries)
    assert [f.newest for f in found] == [T0, T0]
    assert [(f.value, f.samples) for f in found] == [
        (e.value, e.samples) for e in database.window_stats(queries)
    ]
    assert _served_by(server, lambda: prometheus.window_stats(queries)) == 2


def test_count_above_counts_as_the_database_store_does(both):
    database, prometheus, server = both
    starts = (T0 - timedelta(seconds=600), T0 - timedelta(seconds=60), T0 - timedelta(hours=5))
    queries = [
        CountQuery(s, METRIC, threshold, starts, T0, key=(s, threshold))
        for s in ("A_Svc", "B.Svc", "C-Svc", "Nobody")
        for threshold in (10.0, 60.0, 1000.0)
    ]
    expected = database.count_above(queries)
    assert prometheus.count_above(queries) == expected
    # both label sets of B.Svc count: 120 + 120 samples; above 60 all of the first
    # (100 + ...) and the 62 of the second (50 + (37 i mod 23)) whose remainder is over 10
    assert expected[("B.Svc", 60.0)][2] == (240, 120 + 62)
    assert expected[("Nobody", 10.0)] == [(0, 0)] * 3
    assert _served_by(server, lambda: prometheus.count_above(queries)) == 1


@pytest.mark.parametrize(
    "since,until,step",
    [(T0 - timedelta(seconds=600), T0, 60),  # aligned to buckets
     (T0 - timedelta(seconds=605), T0 - timedelta(seconds=5), 60),  # both edges cut
     (T0 - timedelta(seconds=600), T0 - timedelta(seconds=575), 60),  # inside one bucket
     (T0 - timedelta(seconds=1300), T0 + timedelta(seconds=30), 300),
     (T0 - timedelta(seconds=10), T0, 7)],
)  # fmt: skip
@pytest.mark.parametrize("statistic", ["max", "min", "avg"])
def test_buckets_for_graphs_as_the_database_store_does(both, since, until, step, statistic):
    database, prometheus, _ = both
    metrics = [("A_Svc", METRIC), ("B.Svc", METRIC), ("Nobody", METRIC)]
    expected = database.buckets(metrics, since, until, step, statistic)
    found = prometheus.buckets(metrics, since, until, step, statistic)
    assert found.keys() == expected.keys()
    for key, graph in expected.items():
        assert found[key] == pytest.approx(graph, rel=1e-9), key


def test_points_as_the_database_store_does(both):
    database, prometheus, _ = both
    for limit in (4, 1000):  # (which label set a tie at the cut keeps is not specified)
        since, until = T0 - timedelta(seconds=100), T0
        expected = database.points("B.Svc", METRIC, since, until, limit)
        found = prometheus.points("B.Svc", METRIC, since, until, limit)
        assert found.truncated == expected.truncated
        assert sorted((tuple(s.labels.items()), s.points) for s in found.series) == sorted(
            (tuple(s.labels.items()), s.points) for s in expected.series
        )
    assert prometheus.points("Nobody", METRIC, since, until, 10).series == []


def test_maintain_is_the_engines_retention_and_says_so(prometheus_store):
    result = get_store("prometheus").maintain(timezone.now())
    assert result.created == [] and result.dropped == [] and result.deleted_rows == 0
    assert "retention" in result.as_dict()["note"]


def test_scraped_sensors_go_to_prometheus_and_a_store_that_is_down_is_the_sensors_error(
    prometheus_store, settings
):
    from ops.models import Sensor
    from ops.scrape import scrape_all
    from ops.services import register_service
    from tests.factories import service_yaml

    exposition = 'queue_time_seconds{lane="1"} 12.5\nqueue_time_seconds{lane="2"} 31\n'
    with LoopbackServer(lambda request: Reply(200, exposition)) as target:
        register_service(service_yaml(scrape_url=f"{target.url}/metrics"))
        assert scrape_all() == {"scraped": 1, "failed": 0, "samples": 2}
        assert _count(prometheus_store) == 2
        settings.HMS_REMOTE_WRITE_URL = f"http://127.0.0.1:{free_port()}/api/v1/write"
        Sensor.objects.update(last_scrape_at=None)
        assert scrape_all() == {"scraped": 0, "failed": 1, "samples": 0}
    sensor = Sensor.objects.get()
    assert sensor.last_error.startswith("metrics store: remote write: the metrics engine is")
    assert sensor.last_error_at is not None


def test_reads_with_prometheus_down_are_a_503_and_the_tick_changes_nothing(
    prometheus_store, settings
):
    from ops import slo
    from ops.models import SLO, WorkerHeartbeat

    make_service(SCANNER)
    dead = f"http://127.0.0.1:{free_port()}"
    settings.HMS_METRICS_QUERY_URL = dead
    response = api_client(staff_alice()).get(
        "/api/v1/series/", {"service": SCANNER, "name": METRIC}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "127.0.0.1" not in response.content.decode()  # the engine's address stays inside
    with pytest.raises(StoreUnavailable):
        slo.evaluate_all()
    assert list(SLO.objects.values_list("state", "evaluated_at")) == [(SLO.State.NO_DATA, None)]
    assert not WorkerHeartbeat.objects.filter(name=slo.EVALUATOR).exists()
