"""Production settings pass Django's deployment checks and send the security headers."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECRET_KEY",
            "REDIS_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="hms.example.org")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_responses_carry_csp_and_nosniff(client):
    response = client.get("/admin/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


# --- request bodies on a production-like start (gunicorn, DEBUG=False) ----------------------


def _database_url_for_a_subprocess() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    import requests

    from tests.support.services import free_port, wait_until

    port = free_port()
    (tmp_path / "var" / "static").mkdir(parents=True)
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL"}
        },
        "DJANGO_SETTINGS_MODULE": "hms_site.settings",
        "SECRET_KEY": "limits-test-" + "k" * 50,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url_for_a_subprocess(),
        "HMS_VAR_DIR": str(tmp_path / "var"),
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "hms_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=30, what="gunicorn to answer /healthz")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _exchange(port: int, head: str, body_chunks=()) -> tuple[int, dict, bytes]:
    """Send ``head`` and then ``body_chunks`` on a raw socket; the answer (status, headers, body).

    The body is sent only as far as the server lets it: an answer that comes
    before the body is all sent is read as it is.
    """
    import socket
    from http.client import HTTPResponse

    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode("latin-1"))
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading the rest
        response = HTTPResponse(sock)
        response.begin()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield b"%x\r\n" % n + b" " * n + b"\r\n"
        sent += n
    yield b"0\r\n\r\n"


def _head(path: str, extra: str, token: str = "") -> str:
    auth = f"Authorization: Token {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{auth}{extra}Connection: close\r\n\r\n"
    )


def test_gunicorn_answers_an_oversized_body_413_before_it_arrives(gunicorn):
    import json

    limit = 2_621_440
    # Content-Length of 11 MB and no byte of body sent: the answer comes anyway.
    status, headers, body = _exchange(
        gunicorn, _head("/api/v1/programs/", "Content-Length: 11534336\r\n")
    )
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body) == {"detail": f"request body too large: 11534336 bytes, limit {limit}"}
    # Chunked, no Content-Length: read up to one byte over the limit, then refused.
    status, headers, body = _exchange(
        gunicorn,
        _head("/api/v1/programs/", "Transfer-Encoding: chunked\r\n"),
        _chunks(11 * 1024 * 1024),
    )
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body) == {
        "detail": f"request body too large: over {limit} bytes, limit {limit}"
    }
    status, headers, body = _exchange(gunicorn, _head("/login/", "Content-Length: 11534336\r\n"))
    assert (status, headers["content-type"]) == (413, "text/html; charset=utf-8")


def test_gunicorn_reads_a_chunked_body_under_the_limit(gunicorn, django_user_model):
    import json

    from rest_framework.authtoken.models import Token

    from apm.models import Program
    from tests import factories as f

    admin = django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "pw")
    token = Token.objects.create(user=admin).key
    f.group("Housing")
    document = json.dumps(
        {"code": "chunked", "name": "Chunked", "authority": "Act §1", "owner_group": "Housing"}
    ).encode()
    framed = [b"%x\r\n" % len(document[:10]), document[:10], b"\r\n",
              b"%x\r\n" % len(document[10:]), document[10:], b"\r\n", b"0\r\n\r\n"]  # fmt: skip
    status, _, body = _exchange(
        gunicorn, _head("/api/v1/programs/", "Transfer-Encoding: chunked\r\n", token), framed
    )
    assert status == 201, body
    assert Program.objects.get().code == "chunked"
    deep = b'{"code": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    status, _, body = _exchange(
        gunicorn,
        _head("/api/v1/programs/", "Transfer-Encoding: chunked\r\n", token),
        [b"%x\r\n" % len(deep), deep, b"\r\n0\r\n\r\n"],
    )
    assert (status, json.loads(body)) == (400, {"detail": "JSON nested deeper than 64 levels"})
