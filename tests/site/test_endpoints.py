"""The site's own endpoints: /healthz, /metrics, the API schema and docs, hms_token."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"] == {"ok": None, "last_heartbeat": None}


def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    from hms_site.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_healthz_reports_a_fresh_worker_heartbeat(client):
    from ops.services import record_heartbeat

    record_heartbeat()
    worker = client.get("/healthz").json()["checks"]["worker"]
    assert worker["ok"] is True
    assert worker["age_seconds"] < 5


def test_metrics_is_prometheus_exposition(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'hms_http_requests_total{method="GET",status="200"}' in text
    assert "# TYPE hms_worker_heartbeat_age_seconds gauge" in text


def test_api_schema_and_docs_need_a_login(client, admin_user):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(admin_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # offline-ready: the Swagger UI comes from drf-spectacular-sidecar, not a CDN
    assert b"cdn.jsdelivr" not in docs.content


def test_api_accepts_token_auth(admin_user, client):
    key = Token.objects.create(user=admin_user).key
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert client.get("/api/schema/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"HMS Monitor" in response.content


def test_hms_token_prints_the_same_key_twice(admin_user, capsys):
    call_command("hms_token", admin_user.username)
    first = capsys.readouterr().out.strip()
    call_command("hms_token", admin_user.username)
    assert capsys.readouterr().out.strip() == first
    assert Token.objects.get(user=admin_user).key == first


def test_hms_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("hms_token", "nobody")


def test_api_docs_logged_out_go_to_the_login_page_and_back(client, admin_user):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/docs/"
    login = client.get(response["Location"])
    assert login.status_code == 200
    back = client.post(response["Location"], {"username": admin_user.username, "password": "pw"})
    assert back.status_code == 302
    assert back["Location"] == "/api/docs/"
    assert b"swagger-ui" in client.get("/api/docs/").content


def test_api_root_lists_every_resource_as_json(client, admin_user):
    assert client.get("/api/v1/").status_code in (401, 403)
    key = Token.objects.create(user=admin_user).key
    response = client.get(
        "/api/v1/", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    resources = response.json()
    for name in (
        "programs", "baselines", "deviations", "escalations", "escalation-policies", "tickets",
        "services", "incidents", "audit", "notifications", "metrics", "series",
    ):  # fmt: skip
        assert resources[name] == f"http://testserver/api/v1/{name}/", name
    for url in resources.values():  # every listed resource answers (metrics/ is POST only)
        status = client.get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code
        assert status in (200, 400, 405), (url, status)
