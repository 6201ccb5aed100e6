"""The ``prometheus`` metrics store against the real Debian Prometheus (2.42) on loopback.

What the shared store suite (test_metrics_store.py) cannot say: what reaches the
engine (names, labels, milliseconds, order), that a read is one request per group,
that an engine which is down or refuses a batch never loses or half-writes one,
and that an APM ``promql`` probe reads OPS samples directly.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

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
