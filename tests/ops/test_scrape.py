"""Scrape sensors: Prometheus text from a loopback server; a dead port is recorded, others run."""

import pytest

from ops.models import Sample, Sensor
from ops.scrape import scrape_all
from ops.services import register_service
from tests.factories import service_yaml
from tests.support.http_server import LoopbackServer, Reply
from tests.support.services import free_port

pytestmark = pytest.mark.django_db

EXPOSITION = """\
# HELP queue_time_seconds Current queue time.
# TYPE queue_time_seconds gauge
queue_time_seconds{lane="1"} 12.5
queue_time_seconds{lane="2"} 31
queue_time_seconds{lane="3"} NaN
# TYPE belt_speed gauge
belt_speed 2.0
"""


def test_sensor_stores_samples_from_prometheus_text_and_records_success():
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as server:
        register_service(service_yaml(scrape_url=f"{server.url}/metrics"))
        result = scrape_all()
    assert result == {"scraped": 1, "failed": 0, "samples": 2}
    assert server.requests[0].path == "/metrics"
    values = {s.series.labels["lane"]: s.value for s in Sample.objects.select_related("series")}
    assert values == {"1": 12.5, "2": 31.0}  # the NaN reading is skipped, belt_speed not ours
    sensor = Sensor.objects.get()
    assert sensor.last_success_at is not None
    assert sensor.last_error == ""
    assert sensor.last_sample_count == 2


def test_dead_port_is_recorded_and_the_other_sensors_still_run():
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as server:
        register_service(service_yaml("Dead_Scanner", scrape_url=dead))
        register_service(service_yaml("Live_Scanner", scrape_url=f"{server.url}/metrics"))
        result = scrape_all()
    assert result == {"scraped": 1, "failed": 1, "samples": 2}
    dead_sensor = Sensor.objects.get(service_id="Dead_Scanner")
    assert "ConnectionError" in dead_sensor.last_error
    assert dead_sensor.last_error_at is not None and dead_sensor.last_success_at is None
    assert Sample.objects.filter(series__service_id="Live_Scanner").count() == 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(500, "oops"), "HTTP 500"),
        (Reply(200, "this is { not prometheus"), "not Prometheus text format"),
        (Reply(200, "belt_speed 1\n"), "no sample named 'queue_time_seconds'"),
    ],
    ids=["http-error", "garbage", "metric-missing"],
)
def test_bad_targets_record_a_clear_error(reply, message):
    with LoopbackServer(lambda request: reply) as server:
        register_service(service_yaml(scrape_url=f"{server.url}/metrics"))
        assert scrape_all()["failed"] == 1
    assert message in Sensor.objects.get().last_error
    assert Sample.objects.count() == 0


def test_slow_target_times_out_instead_of_hanging(monkeypatch):
    monkeypatch.setattr("ops.scrape.READ_TIMEOUT", 0.3)
    with LoopbackServer(lambda request: Reply(200, EXPOSITION, delay=2)) as server:
        register_service(service_yaml(scrape_url=f"{server.url}/metrics"))
        assert scrape_all()["failed"] == 1
    assert "Timeout" in Sensor.objects.get().last_error


def test_a_second_run_right_after_the_first_does_not_scrape_again():
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as server:
        register_service(service_yaml(scrape_url=f"{server.url}/metrics"))
        scrape_all()
        assert scrape_all() == {"scraped": 0, "failed": 0, "samples": 0}
    assert len(server.requests) == 1
    assert Sample.objects.count() == 2
