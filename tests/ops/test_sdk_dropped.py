"""``X-HMS-Dropped``: what a sender dropped, counted per service when its batch is accepted,
refused (naming the header) when malformed, never counted twice nor for another service."""

import pytest

from ops.models import Sample, Service
from tests.factories import api_client, make_service, staff_alice
from tests.site.test_metrics_exposition import labels, scrape

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/"
HEADER = "HTTP_X_HMS_DROPPED"


def batch(*values, service="DCA_Luggage_Scanner"):
    return {
        "samples": [{"service": service, "name": "queue_time_seconds", "value": v} for v in values]
    }


def dropped(service="DCA_Luggage_Scanner") -> int:
    return Service.objects.get(pk=service).sdk_dropped_samples


@pytest.fixture
def scanner_key():
    return make_service("DCA_Luggage_Scanner").ingest_key


def test_counts_add_up_per_service_and_show_on_metrics(client, scanner_key):
    make_service("IAD_Luggage_Scanner")
    alice = api_client(staff_alice())
    for header in ("DCA_Luggage_Scanner=3", "DCA_Luggage_Scanner=4, IAD_Luggage_Scanner=1"):
        response = alice.post(URL, batch(1), format="json", **{HEADER: header})
        assert response.status_code == 201, response.content
    bare = api_client().post(
        URL, batch(2), format="json", HTTP_AUTHORIZATION=f"Bearer {scanner_key}", **{HEADER: "5"}
    )
    assert bare.status_code == 201
    assert (dropped(), dropped("IAD_Luggage_Scanner")) == (12, 1)
    samples = scrape(client)
    assert samples[("hms_sdk_dropped_samples_total", labels(service="DCA_Luggage_Scanner"))] == 12
    assert samples[("hms_sdk_dropped_samples_total", labels(service="IAD_Luggage_Scanner"))] == 1


def test_no_header_and_zero_change_nothing(scanner_key):
    alice = api_client(staff_alice())
    assert alice.post(URL, batch(1), format="json").status_code == 201
    assert (
        alice.post(URL, batch(1), format="json", **{HEADER: "DCA_Luggage_Scanner=0"}).status_code
        == 201
    )
    assert dropped() == 0


def test_drops_of_a_refused_batch_are_not_counted(scanner_key):
    """The sender keeps them and tells them again with its next accepted batch."""
    response = api_client(staff_alice()).post(
        URL, batch("x"), format="json", **{HEADER: "DCA_Luggage_Scanner=9"}
    )
    assert response.status_code == 400
    assert dropped() == 0 and not Sample.objects.exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("lots", "'lots': give <service>=<count>, comma-separated"),
        ("DCA_Luggage_Scanner=-1", "give <service>=<count>"),
        ("DCA_Luggage_Scanner=1.5", "give <service>=<count>"),
        ("DCA_Luggage_Scanner=", "give <service>=<count>"),
        ("=3", "give <service>=<count>"),
        ("DCA_Luggage_Scanner=1,,", "give <service>=<count>"),
        ("DCA Luggage=1", "give <service>=<count>"),
        ("DCA_Luggage_Scanner=99999999999999", "give <service>=<count>"),
        ("DCA_Luggage_Scanner=9999999999999", "is more than 1000000000000"),
        ("Nowhere_Service=1", "unknown service 'Nowhere_Service'"),
        ("7", "a bare count needs an ingest key"),
        (",".join(["DCA_Luggage_Scanner=1"] * 101), "at most 100 services per request"),
        ("DCA_Luggage_Scanner=1\x00", "give <service>=<count>"),
    ],
)
def test_a_bad_header_is_a_400_naming_it_and_stores_nothing(scanner_key, header, message):
    response = api_client(staff_alice()).post(URL, batch(1), format="json", **{HEADER: header})
    assert response.status_code == 400
    (problem,) = response.json()["X-HMS-Dropped"]
    assert message in problem
    assert not Sample.objects.exists() and dropped() == 0


def test_an_ingest_key_may_only_report_its_own_service(scanner_key):
    make_service("IAD_Luggage_Scanner")
    response = api_client().post(
        URL,
        batch(1),
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {scanner_key}",
        **{HEADER: "IAD_Luggage_Scanner=50"},
    )
    assert response.status_code == 403
    assert "may only report service 'DCA_Luggage_Scanner'" in response.json()["detail"]
    assert dropped("IAD_Luggage_Scanner") == 0 and not Sample.objects.exists()


def test_the_count_is_not_editable_in_the_service_form():
    assert Service._meta.get_field("sdk_dropped_samples").editable is False
