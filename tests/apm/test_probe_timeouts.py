"""Every probe kind waits for its source at most HMS_PROBE_TIMEOUT_SECONDS: a single API run
probes inside the web request, so this bounds the request."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import DatabaseError, connection

from apm import services
from apm.models import Baseline, Deviation
from apm.probes import PROBES
from apm.probes.deadline import database_deadline
from tests import factories as f


def test_every_probe_kind_has_a_run_timeout_at_or_under_the_setting(settings):
    assert set(PROBES) == set(Baseline.ProbeKind.values)
    for kind, probe in PROBES.items():
        assert 0 < probe.run_timeout() <= settings.HMS_PROBE_TIMEOUT_SECONDS, kind
    settings.HMS_PROBE_TIMEOUT_SECONDS = 0.25
    for kind, probe in PROBES.items():
        assert probe.run_timeout() == 0.25, kind


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(10)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads, server.block_on_close = True, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_slow_prometheus_holds_an_api_run_no_longer_than_the_probe_timeout(
    api, staff_alice, settings, slow_prometheus
):
    settings.PROMETHEUS_URL = slow_prometheus
    settings.HMS_PROBE_TIMEOUT_SECONDS = 0.3
    baseline = f.baseline(probe_kind="promql", probe_query="up", clean=False)
    started = time.monotonic()
    response = api(staff_alice).post(f"/api/v1/baselines/{baseline.pk}/run/")
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert response.json()["status"] == "error"
    assert "Prometheus unreachable" in response.json()["evidence"]["error"]
    assert elapsed < 5  # the server answers after 10 s


def _slow_statement() -> str:
    if connection.vendor == "postgresql":
        return "SELECT pg_sleep(3)"
    return (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )


def test_the_database_deadline_interrupts_a_slow_read(db):
    started = time.monotonic()
    with pytest.raises(DatabaseError), database_deadline(0.2), connection.cursor() as cursor:
        cursor.execute(_slow_statement())
        cursor.fetchall()
    assert time.monotonic() - started < 2.5
    with connection.cursor() as cursor:  # the connection is usable, its timeout unchanged
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"


def test_a_metric_probe_read_past_its_deadline_is_an_error_deviation(db, settings, monkeypatch):
    from apm.probes import metric

    class SlowStore:  # the database store's read, stuck in the database
        def window_stats(self, queries):
            with connection.cursor() as cursor:
                cursor.execute(_slow_statement())
                cursor.fetchall()

    monkeypatch.setattr(metric, "get_store", SlowStore)
    settings.HMS_PROBE_TIMEOUT_SECONDS = 0.2
    baseline = f.baseline(
        probe_kind="metric",
        probe_query='p95(queue_time_seconds{service="DCA_Luggage_Scanner"}[5m])',
        clean=False,
    )
    deviation = services.run_baseline(baseline)
    assert deviation.status == Deviation.Status.ERROR
    assert "took over 0.2 s" in deviation.evidence["error"]
