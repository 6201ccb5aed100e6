"""Scrape sensors: Prometheus text from a loopback server; a dead port is recorded, others run."""

import pytest

from ops.models import Sample, Sensor, Service
from ops.scrape import scrape_all
from ops.servicedef import DefinitionError, parse_definition
from ops.services import register_service
from tests.factories import api_client, make_user, service_yaml, staff_alice, viewer_bob
from tests.support import dns
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
    assert dead_sensor.last_error == "ConnectionError: cannot connect (Connection refused)"
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


# --- the outbound guard on the scrape path (ops/outbound/) -------------------------------

SECRET = "hmsk_live_0123456789abcdef"


def test_a_redirect_is_not_followed_and_the_second_server_sees_nothing():
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as inner:
        to_inner = Reply(302, "", headers={"Location": f"{inner.url}/metrics"})
        with LoopbackServer(lambda request: to_inner) as outer:
            register_service(service_yaml(scrape_url=f"{outer.url}/metrics"))
            assert scrape_all()["failed"] == 1
            assert len(outer.requests) == 1
        assert inner.requests == []
    assert "HTTP 302: redirects are not followed" in Sensor.objects.get().last_error
    assert Sample.objects.count() == 0


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "a@127.0.0.1"],
)
def test_a_loopback_scrape_url_is_refused_at_save_naming_the_field_and_line(settings, target):
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    text = service_yaml(scrape_url=f"http://{target}:9100/metrics")
    with pytest.raises(DefinitionError) as error:
        register_service(text)
    [message] = error.value.errors["sensors[0].scrape_url"]
    assert message.startswith("line 5: refused: ") and "loopback" in message
    assert not Sensor.objects.exists()


def test_the_api_answers_400_for_a_metadata_scrape_url():
    text = service_yaml(scrape_url="http://169.254.169.254/latest/meta-data/iam/")
    response = api_client(staff_alice()).post(
        "/api/v1/services/", data=text.encode(), content_type="application/yaml"
    )
    assert response.status_code == 400
    assert response.json() == {
        "sensors[0].scrape_url": [
            "line 5: refused: 169.254.169.254 is a link-local address (cloud metadata lives there)"
        ]
    }


def test_a_target_that_turns_into_loopback_after_save_is_refused_at_connect(settings, monkeypatch):
    """DNS rebinding: a public address at save, 127.0.0.1 when the scraper connects."""
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as server:
        monkeypatch.setitem(dns.NAMES, "metrics.rebind.test", ["8.8.8.8"])
        register_service(service_yaml(scrape_url=f"http://metrics.rebind.test:{server.port}/m"))
        monkeypatch.setitem(dns.NAMES, "metrics.rebind.test", ["127.0.0.1"])
        assert scrape_all()["failed"] == 1
        assert server.requests == []
    assert Sensor.objects.get().last_error == (
        "refused: metrics.rebind.test: 127.0.0.1 is a loopback address"
    )


def test_the_apps_own_redis_is_never_scraped(settings):
    with LoopbackServer(lambda request: Reply(200, EXPOSITION)) as server:
        settings.REDIS_URL = f"redis://127.0.0.1:{server.port}/0"
        sensor_url = f"{server.url}/metrics"
        register_service(service_yaml())
        Sensor.objects.update(scrape_url=sensor_url)  # as if saved before the guard existed
        assert scrape_all()["failed"] == 1
        assert server.requests == []
    assert "is the app's own REDIS_URL" in Sensor.objects.get().last_error


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, f"internal error, token={SECRET}"),
        Reply(200, f'password_hash{{user="{SECRET}"}} not a number\n'),
        Reply(200, f"# TYPE x gauge\nx {SECRET}\n"),
        Reply(404, SECRET),
    ],
    ids=["error-page", "bad-line", "bad-value", "not-found"],
)
def test_an_error_never_quotes_what_the_target_answered(reply):
    with LoopbackServer(lambda request: reply) as server:
        register_service(service_yaml(scrape_url=f"{server.url}/metrics"))
        assert scrape_all()["failed"] == 1
    error = Sensor.objects.get().last_error
    assert error and SECRET not in error and "0123456789" not in error


def test_scrape_errors_are_shown_only_to_users_who_may_see_sensors():
    register_service(service_yaml(scrape_url="http://scanner.local/metrics"))
    Sensor.objects.update(last_error="refused: scanner.local: 10.20.0.7 is ...")
    viewer = api_client(viewer_bob()).get("/api/v1/services/DCA_Luggage_Scanner/").json()
    assert viewer["sensors"][0]["last_error"] == (
        "the last scrape failed (the details need the ops.view_sensor permission)"
    )
    inspector = api_client(make_user("inspector_ivy", perms=("ops.view_sensor",)))
    body = inspector.get("/api/v1/services/DCA_Luggage_Scanner/").json()
    assert body["sensors"][0]["last_error"] == "refused: scanner.local: 10.20.0.7 is ..."
    listed = api_client(make_user("viewer_dan")).get("/api/v1/services/").json()
    assert "10.20.0.7" not in str(listed)


def test_a_stored_definition_is_re_read_without_resolving_its_targets(settings, monkeypatch):
    """The playbook runner re-parses stored definitions: no DNS, no refusal there."""
    register_service(service_yaml(scrape_url="http://scanner.local/metrics"))
    settings.HMS_OUTBOUND_ALLOW = ((), frozenset())
    monkeypatch.setitem(dns.NAMES, "scanner.local", ["127.0.0.1"])  # moved after save
    text = Service.objects.get().source
    with pytest.raises(DefinitionError):
        parse_definition(text)
    assert parse_definition(text, check_targets=False).sensors[0].scrape_url.endswith("/metrics")
