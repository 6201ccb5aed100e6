"""Bad input from the reliability list that no feature test covers: a clear 4xx, nothing written."""

import json
from urllib.parse import urlencode

import pytest

from apm.models import Baseline, Program
from ops.models import Sample, Service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "content_type", "body"),
    [
        ("/api/v1/programs/", "text/plain", "code=x"),
        ("/api/v1/baselines/", "application/xml", "<baseline/>"),
        ("/api/v1/metrics/", "text/csv", "queue_time_seconds,38"),
        ("/api/v1/services/", "application/octet-stream", b"\x00\x01"),
    ],
)
def test_wrong_content_types_get_415(admin_client_token, url, content_type, body):
    response = admin_client_token.post(url, data=body, content_type=content_type)
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert not (Program.objects.exists() or Baseline.objects.exists())
    assert not (Service.objects.exists() or Sample.objects.exists())


def test_a_ten_megabyte_yaml_document_is_refused_without_reading_it_all(admin_client_token):
    body = "id: Huge\nowner: x\ndescription: " + "a" * (10 * 1024 * 1024) + "\n"
    response = admin_client_token.post(
        "/api/v1/services/", data=body, content_type="application/yaml"
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body too large: 10485")
    assert not Service.objects.exists()


def test_malformed_json_is_a_400_naming_the_problem(admin_client_token):
    response = admin_client_token.post(
        "/api/v1/programs/", data='{"code": "x",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Program.objects.exists()


NEW_PROGRAM = {"code": "x", "name": "X", "authority": "Act §1"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # a relation looked up by name: a 500 (DataError) on PostgreSQL before
        (json.dumps({**NEW_PROGRAM, "owner_group": "Housing\u0000"}), "owner_group"),
        (json.dumps({**NEW_PROGRAM, "name\u0000": "X"}), "name\\x00"),
        ('{"code": "x", "name": "\\\\\\u0000"}', "name"),  # an escaped backslash, then NUL
        (json.dumps({**NEW_PROGRAM, "tags": {"a": ["ok", "no\u0000"]}}), "tags"),
    ],
    ids=["value", "key", "after-escaped-backslash", "nested"],
)
def test_a_nul_character_in_json_is_a_400_naming_the_field(admin_client_token, body, field):
    response = admin_client_token.post(
        "/api/v1/programs/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "may not contain NUL" in response.json()[field][0]
    assert not Program.objects.exists()


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(admin_client_token):
    body = '{"code": "x", "name": "\\\\u0000"}'  # the six characters \u0000 after a backslash
    response = admin_client_token.post(
        "/api/v1/programs/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "may not contain NUL" not in str(response.json())
    assert "authority" in response.json()


@pytest.mark.parametrize("format_", ["multipart", "urlencoded"])
def test_a_nul_character_in_a_form_field_is_a_400_naming_the_field(admin_client_token, format_):
    fields = {**NEW_PROGRAM, "owner_group": "\x10\x91\x00\x02"}  # found by schemathesis
    if format_ == "multipart":
        response = admin_client_token.post("/api/v1/programs/", data=fields, format="multipart")
    else:
        response = admin_client_token.post(
            "/api/v1/programs/",
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 400
    assert "may not contain NUL" in response.json()["owner_group"][0]
    assert not Program.objects.exists()
