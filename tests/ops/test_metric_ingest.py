"""POST /api/v1/metrics/: one sample or a batch, all-or-nothing, ingest keys, refusals by index."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ops.metrics import MAX_SAMPLES
from ops.models import Sample, Series
from ops.services import rotate_ingest_key
from tests.factories import api_client, make_service, staff_alice, viewer_bob

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/"


@pytest.fixture
def scanner():
    return make_service("DCA_Luggage_Scanner")


def post_raw(client, body: str, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


def sample(value=20.0, **extra):
    return {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", "value": value, **extra}


def test_one_sample_is_stored_with_default_time_now(scanner):
    before = timezone.now()
    response = api_client(staff_alice()).post(URL, sample(38), format="json")
    assert response.status_code == 201
    assert response.json() == {"accepted": 1}
    stored = Sample.objects.get()
    assert stored.value == 38.0
    assert before <= stored.ts <= timezone.now()
    assert stored.series.name == "queue_time_seconds"


def test_readings_of_one_series_sent_without_ts_in_one_batch_are_all_kept(scanner):
    """A (series, ts) pair is one reading: ts-less samples take the arrival instant, a
    millisecond apart in batch order, instead of replacing each other."""
    before = timezone.now()
    batch = [sample(v) for v in (31.0, 32.0, 33.0)]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.json() == {"accepted": 3}
    stored = list(Sample.objects.order_by("ts").values_list("value", "ts"))
    assert [value for value, _ in stored] == [31.0, 32.0, 33.0]
    assert all(before <= ts <= timezone.now() + timedelta(milliseconds=2) for _, ts in stored)
    assert (stored[2][1] - stored[0][1]) == timedelta(milliseconds=2)


def test_a_batch_accepts_iso_and_epoch_times_and_labels(scanner):
    now = timezone.now()
    batch = [
        sample(1, ts=(now - timedelta(seconds=10)).isoformat()),
        sample(2, ts=(now - timedelta(seconds=5)).timestamp()),
        sample(3, labels={"lane": "4"}),
    ]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.json() == {"accepted": 3}
    assert sorted(Sample.objects.values_list("value", flat=True)) == [1, 2, 3]
    assert set(Series.objects.values_list("labels_key", flat=True)) == {"{}", '{"lane":"4"}'}
    epoch = Sample.objects.get(value=2).ts
    assert abs((epoch - (now - timedelta(seconds=5))).total_seconds()) < 0.001


def test_a_batch_with_one_bad_sample_stores_nothing_and_names_index_and_field(scanner):
    batch = [sample(1), sample(2), sample(3), sample("fast")]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.status_code == 400
    assert response.json() == {"samples": {"3": {"value": ["must be a number"]}}}
    assert Sample.objects.count() == 0


@pytest.mark.parametrize(
    ("raw_value", "message"),
    [
        ("NaN", "must be a finite number"),
        ("Infinity", "must be a finite number"),
        ("-Infinity", "must be a finite number"),
        ('"38"', "must be a number"),
        ("true", "must be a number"),
        ("null", "must be a number"),
        ("1" + "0" * 400, "must be a finite number"),  # an integer too large for a float
    ],
)
def test_non_finite_and_non_numbers_are_refused(scanner, raw_value, message):
    body = (
        '{"samples": [{"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", '
        f'"value": 1}}, {{"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", '
        f'"value": {raw_value}}}]}}'
    )
    response = post_raw(api_client(staff_alice()), body)
    assert response.status_code == 400
    assert response.json() == {"samples": {"1": {"value": [message]}}}
    assert Sample.objects.count() == 0


def test_unknown_metric_name_and_unknown_service_are_refused(scanner):
    batch = [sample(1), sample(2, name="belt_speed"), sample(3, service="Nope")]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "samples": {
            "1": {"name": ["'belt_speed' is not a sensor of service 'DCA_Luggage_Scanner'"]},
            "2": {"service": ["unknown service 'Nope'"]},
        }
    }
    assert Sample.objects.count() == 0


def test_a_refused_sensor_is_named_by_its_sample_index_when_earlier_samples_share_a_series(
    scanner,
):
    """The check runs over the batch's distinct series; its errors must still name the
    samples (here 3 and 5), not the series' positions among the distinct ones (1 and 2)."""
    batch = [sample(1), sample(2), sample(3), sample(4, name="belt_speed"), sample(5),
             sample(6, service="Nope")]  # fmt: skip
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "samples": {
            "3": {"name": ["'belt_speed' is not a sensor of service 'DCA_Luggage_Scanner'"]},
            "5": {"service": ["unknown service 'Nope'"]},
        }
    }
    assert Sample.objects.count() == 0


def test_times_far_in_the_future_or_past_retention_or_malformed_are_refused(scanner):
    now = timezone.now()
    batch = [
        sample(1, ts=(now + timedelta(hours=1)).isoformat()),
        sample(2, ts="2000-01-01T00:00:00Z"),
        sample(3, ts="yesterday"),
        sample(4, ts=1e20),
    ]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    errors = response.json()["samples"]
    assert errors["0"] == {"ts": ["is more than 300 s in the future"]}
    assert errors["1"] == {"ts": ["is older than the 30-day retention"]}
    assert errors["2"] == {"ts": ["must be an ISO-8601 time or epoch seconds"]}
    assert errors["3"] == {"ts": ["is more than 300 s in the future"]}


def test_unknown_fields_and_missing_fields_are_named(scanner):
    response = api_client(staff_alice()).post(
        URL, {"samples": [{"name": "queue_time_seconds", "colour": "red"}]}, format="json"
    )
    assert response.json() == {
        "samples": {
            "0": {
                "colour": ["unknown field"],
                "value": ["is required"],
                "service": ["is required"],
            }
        }
    }


def test_more_than_ten_thousand_samples_are_refused(scanner):
    batch = [sample(1)] * (MAX_SAMPLES + 1)
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.status_code == 400
    assert response.json() == {"samples": ["at most 10000 samples per request"]}


def test_ten_thousand_samples_are_accepted_in_one_request(scanner):
    base = datetime.now(UTC).timestamp() - 200
    batch = [sample(i % 50, ts=base + i * 0.01) for i in range(MAX_SAMPLES)]
    response = api_client(staff_alice()).post(URL, {"samples": batch}, format="json")
    assert response.json() == {"accepted": MAX_SAMPLES}
    assert Sample.objects.count() == MAX_SAMPLES


def test_oversize_body_is_refused_with_413(scanner):
    body = json.dumps({"samples": [sample(1, labels={"pad": "x" * 200})] * 20_000})
    response = post_raw(api_client(staff_alice()), body)
    assert response.status_code == 413
    assert Sample.objects.count() == 0


def test_malformed_json_is_a_400(scanner):
    response = post_raw(api_client(staff_alice()), '{"samples": [')
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_ingest_key_writes_its_service_by_bearer_or_header_and_defaults_the_service():
    key = make_service("DCA_Luggage_Scanner").ingest_key
    client = api_client()
    body = {"samples": [{"name": "queue_time_seconds", "value": 12}]}
    bearer = client.post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")
    header = client.post(URL, body, format="json", HTTP_X_HMS_INGEST_KEY=key)
    assert (bearer.status_code, header.status_code) == (201, 201)
    assert Sample.objects.filter(series__service_id="DCA_Luggage_Scanner").count() == 2


def test_ingest_key_cannot_write_another_service():
    key = make_service("DCA_Luggage_Scanner").ingest_key
    make_service("IAD_Luggage_Scanner")
    body = {"samples": [sample(1), sample(2, service="IAD_Luggage_Scanner")]}
    response = api_client().post(URL, body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403
    assert "sample 1" in response.json()["detail"]
    assert Sample.objects.count() == 0


def test_a_rotated_key_stops_working_and_the_new_one_works():
    registration = make_service("DCA_Luggage_Scanner")
    new_key = rotate_ingest_key(registration.service)
    client = api_client()
    old = client.post(
        URL, sample(1), format="json", HTTP_AUTHORIZATION=f"Bearer {registration.ingest_key}"
    )
    new = client.post(URL, sample(1), format="json", HTTP_AUTHORIZATION=f"Bearer {new_key}")
    assert (old.status_code, new.status_code) == (401, 201)


def test_ingest_key_reaches_nothing_else():
    key = make_service("DCA_Luggage_Scanner").ingest_key
    response = api_client().get("/api/v1/services/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code in (401, 403)


def test_user_without_permission_and_anonymous_are_refused(scanner):
    assert api_client(viewer_bob()).post(URL, sample(1), format="json").status_code == 403
    assert api_client().post(URL, sample(1), format="json").status_code in (401, 403)
    assert Sample.objects.count() == 0


def test_a_bad_sample_after_thousands_of_good_ones_still_stores_nothing(scanner):
    base = datetime.now(UTC).timestamp() - 100
    batch = [sample(1.0, ts=base + i * 0.01) for i in range(4500)]
    batch.append(sample(float("inf")))
    body = json.dumps({"samples": batch})  # json.dumps writes Infinity
    response = post_raw(api_client(staff_alice()), body)
    assert response.status_code == 400
    assert response.json() == {"samples": {"4500": {"value": ["must be a finite number"]}}}
    assert Sample.objects.count() == 0
    assert Series.objects.count() == 0  # the series made for the batch is rolled back too


def test_deeply_nested_json_is_a_400_not_a_500(scanner):
    response = post_raw(api_client(staff_alice()), "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
