"""Compressed request bodies: gzip is inflated before any parser, the size limit applies to
the inflated body (a bomb is a 413 without ever growing past it), bad gzip is a 400, and
every other coding a 415 naming it — on every write route."""

import gzip
import io
import json
import time
import zlib

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from hms_site import limits
from hms_site.limits import RequestBodyLimitMiddleware, inflate
from ops.models import Sample, Service
from ops.services import register_service
from tests.api.test_authorization_matrix import client_for, world  # noqa: F401 (fixture)
from tests.api.test_request_limits import WRITES, _concrete
from tests.factories import SCANNER_YAML

GIB = 1024**3


@pytest.fixture(scope="module")
def gigabyte_of_zeros() -> bytes:
    """1 GiB of zeros as gzip (about 1 MiB: under every compressed-size limit)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [packer.compress(chunk) for _ in range(1024)]
    body = b"".join([*parts, packer.flush()])
    assert len(body) < settings.HMS_REQUEST_MAX_BYTES
    return body


def _post(client, path, body: bytes, encoding: str | None = "gzip", method="post"):
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding is not None else {}
    return getattr(client, method)(path, data=body, content_type="application/json", **headers)


def _batch(*values) -> bytes:
    # Each its own time: a (series, ts) pair is one reading (the last write of it wins).
    now = time.time()
    samples = [
        {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", "value": v, "ts": now - i}
        for i, v in enumerate(values)
    ]
    return json.dumps({"samples": samples}).encode()


@pytest.fixture
def scanner(db):
    return register_service(SCANNER_YAML)


def test_a_gzip_batch_is_stored(admin_client_token, scanner):
    response = _post(admin_client_token, "/api/v1/metrics/", gzip.compress(_batch(1, 2, 3)))
    assert (response.status_code, response.json()) == (201, {"accepted": 3})
    assert sorted(Sample.objects.values_list("value", flat=True)) == [1, 2, 3]


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZIP", " gzip "])
def test_gzip_under_each_of_its_names_is_accepted(admin_client_token, scanner, encoding):
    response = _post(admin_client_token, "/api/v1/metrics/", gzip.compress(_batch(7)), encoding)
    assert response.status_code == 201, response.content


def test_identity_is_no_coding(admin_client_token, scanner):
    response = _post(admin_client_token, "/api/v1/metrics/", _batch(4), "identity")
    assert response.status_code == 201


def test_concatenated_gzip_members_are_one_body(admin_client_token, scanner):
    text = _batch(5, 6)
    body = gzip.compress(text[:10]) + gzip.compress(text[10:])
    response = _post(admin_client_token, "/api/v1/metrics/", body)
    assert (response.status_code, response.json()) == (201, {"accepted": 2})


def test_gzip_json_reaches_other_endpoints_too(admin_client_token):
    body = gzip.compress(
        json.dumps({"code": "gz", "name": "Gzip program", "authority": "HUD"}).encode()
    )
    response = _post(admin_client_token, "/api/v1/programs/", body)
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "gz"


@pytest.mark.parametrize("path", ["/api/v1/metrics/", "/api/v1/programs/", "/api/v1/services/"])
def test_a_gigabyte_of_zeros_is_a_413_naming_the_limit(
    admin_client_token, scanner, gigabyte_of_zeros, path
):
    limit = settings.HMS_INGEST_MAX_BYTES if "metrics" in path else settings.HMS_REQUEST_MAX_BYTES
    response = _post(admin_client_token, path, gigabyte_of_zeros)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"request body too large: over {limit} (inflated) bytes, limit {limit}"
    }
    assert not Sample.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, _ in WRITES], ids=[f"{m} {p}" for m, p, _ in WRITES]
)
def test_the_bomb_is_a_413_on_every_write_route(world, gigabyte_of_zeros, method, path):  # noqa: F811
    response = _post(
        client_for("admin", world),
        _concrete(path, required=False),
        gigabyte_of_zeros,
        method=method,
    )
    assert response.status_code == 413
    assert "(inflated)" in response.json()["detail"]


def test_inflating_a_bomb_stops_one_step_past_the_limit(gigabyte_of_zeros, monkeypatch):
    """Memory never holds the gigabyte: inflate produces at most limit + one step."""
    produced = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args, **kwargs):
            self._inner = real(*args, **kwargs)

        def decompress(self, data, max_length=0):
            out = self._inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self._inner, name)

    monkeypatch.setattr(limits.zlib, "decompressobj", Counting)
    assert inflate(gigabyte_of_zeros, 4096) is None
    assert sum(produced) == 4097
    assert inflate(gzip.compress(b"x" * 4096), 4096) == b"x" * 4096


def test_the_limit_is_on_the_inflated_size(admin_client_token, settings):
    settings.HMS_REQUEST_MAX_BYTES = 2048
    body = json.dumps({"code": "x" * 1900, "name": "n"})
    at_limit = (body + " " * (2048 - len(body))).encode()
    assert (
        _post(admin_client_token, "/api/v1/programs/", gzip.compress(at_limit)).status_code == 400
    )
    over = _post(admin_client_token, "/api/v1/programs/", gzip.compress(at_limit + b" "))
    assert over.status_code == 413


def test_a_gzip_of_a_gzip_is_inflated_once_and_refused_as_json(
    admin_client_token, scanner, gigabyte_of_zeros
):
    response = _post(admin_client_token, "/api/v1/metrics/", gzip.compress(gigabyte_of_zeros))
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"samples": []}',  # the header says gzip, the body is plain
        b"\x1f\x8b\x08\x00garbage-after-a-gzip-magic",
        gzip.compress(b'{"a": 1}')[:-6],  # truncated
        gzip.compress(b'{"a": 1}') + b"trailing",
        zlib.compress(b'{"a": 1}'),  # zlib framing, not gzip
    ],
    ids=["empty", "plain-json", "garbage", "truncated", "trailing-garbage", "zlib-stream"],
)
def test_a_body_that_is_not_gzip_is_a_400_naming_gzip(admin_client_token, scanner, body):
    response = _post(admin_client_token, "/api/v1/metrics/", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Content-Encoding gzip: the body is not valid gzip")
    assert not Sample.objects.exists()


def test_gzip_without_the_header_is_a_400_not_a_500(admin_client_token, scanner):
    response = _post(admin_client_token, "/api/v1/metrics/", gzip.compress(_batch(1)), None)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "encoding", ["deflate", "br", "zstd", "compress", "gzip, gzip", "gzip, br", "lz4;q=1"]
)
def test_other_codings_are_a_415_naming_the_coding(admin_client_token, scanner, encoding):
    response = _post(admin_client_token, "/api/v1/metrics/", gzip.compress(_batch(1)), encoding)
    assert response.status_code == 415
    assert response["Accept-Encoding"] == "gzip"
    assert response.json() == {
        "detail": f"Content-Encoding {encoding!r} is not supported: send gzip or no encoding"
    }
    assert not Sample.objects.exists()


def test_outside_the_api_an_unknown_coding_is_a_415_page(admin_client):
    response = admin_client.post(
        "/admin/login/",
        data=b"x=1",
        content_type="application/x-www-form-urlencoded",
        HTTP_CONTENT_ENCODING="br",
    )
    assert response.status_code == 415
    assert response["Content-Type"].startswith("text/html")


def test_a_chunked_gzip_body_is_inflated_too(db):
    body = gzip.compress(b'{"hello": "world"}')
    environ = (
        RequestFactory()
        .post("/api/v1/programs/", data=b"", content_type="application/json")
        .environ
    )
    environ.pop("CONTENT_LENGTH", None)
    environ.update(
        {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_CONTENT_ENCODING": "gzip",
            "wsgi.input_terminated": True,
            "wsgi.input": io.BytesIO(body),
        }
    )
    request = WSGIRequest(environ)
    assert RequestBodyLimitMiddleware(lambda r: None).check(request) is None
    assert request.body == b'{"hello": "world"}'
    assert "HTTP_CONTENT_ENCODING" not in request.META


def test_the_service_document_may_be_sent_as_gzip_yaml(admin_client_token):
    response = admin_client_token.post(
        "/api/v1/services/",
        data=gzip.compress(SCANNER_YAML.encode()),
        content_type="application/yaml",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 201, response.content
    assert Service.objects.get().source == SCANNER_YAML


@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_a_parser_reached_past_the_middleware_refuses_an_encoded_body(
    admin_client_token, settings, content_type
):
    """Defence in depth: without the middleware, the parsers still never read gzip bytes."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("RequestBodyLimitMiddleware")
    ]
    response = admin_client_token.post(
        "/api/v1/services/",
        data=gzip.compress(b'{"id": "x"}'),
        content_type=content_type,
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 415
    assert response.json() == {"detail": "Content-Encoding 'gzip' is not supported"}
    assert not Service.objects.exists()


def test_a_form_body_with_too_many_fields_is_a_json_400_not_an_html_page(admin_client_token):
    body = "&".join(f"baselines={i}" for i in range(1500))
    response = admin_client_token.post(
        "/api/v1/baselines/run/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "bad request" in response.json()["detail"]
