"""Requests that hurt: deep JSON is a 400 naming the limit, an oversized body a 413 unread.

Routes come from the OpenAPI schema and the URL resolver, so a new endpoint is
covered without a row here. Path parameters are filled with real objects (the
authorization matrix's ``world``), so a write reaches its parser instead of a 404.
"""

import json
import re

import pytest
from django.conf import settings
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import strategies as st

from apm.models import Program
from hms_site.limits import RequestBodyLimitMiddleware
from ops.api.parsers import nested_deeper_than
from ops.models import Sample, Service
from tests.api.test_authorization_matrix import client_for, world  # noqa: F401 (fixture)

ELEVEN_MB = 11 * 1024 * 1024
DEPTH = 64
TOO_DEEP = f"JSON nested deeper than {DEPTH} levels"


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


OPERATIONS = sorted((m, p, "requestBody" in o) for m, p, o in _operations())
WRITES = [(m, p, body) for m, p, body in OPERATIONS if m in {"post", "put", "patch"}]


def _concrete(template: str, *, required: bool = True) -> str:
    """``template`` with each ``{param}`` replaced by the key of a real object of its route.

    ``required=False``: any key will do when there is none (the request is answered
    before the object is looked up, or reads no body).
    """
    if "{" not in template:
        return template
    view = resolve(re.sub(r"\{[^}]+\}", "1", template)).func
    cls = getattr(view, "cls", None)
    queryset = getattr(cls, "queryset", None)
    if queryset is not None:
        model = queryset.model
    elif getattr(cls, "serializer_class", None) is not None:
        model = cls.serializer_class.Meta.model
    else:  # plain APIViews under a resource: /services/{service_id}/events/
        model = Service
    obj = model._default_manager.order_by("pk").first()
    if obj is None and not required:
        return re.sub(r"\{[^}]+\}", "0", template)
    assert obj is not None, f"{template}: the world has no {model.__name__} to address"
    key = getattr(obj, getattr(cls, "lookup_field", "pk"))
    return re.sub(r"\{[^}]+\}", str(key), template)


def _deep(levels: int) -> str:
    return '{"name": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


# --- the depth scan -----------------------------------------------------------


def _reference_depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


TRICKY_TEXT = st.sampled_from(["a", '"', "\\", "[", "]", "{", "}", "é", "\x00"])
JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(TRICKY_TEXT, max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(TRICKY_TEXT, max_size=4), children, max_size=3)
    ),
    max_leaves=40,
)


@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_the_depth_scan_agrees_with_the_parsed_depth(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    depth = _reference_depth(value)
    for limit in {max(depth - 1, 1), depth, depth + 1}:
        assert nested_deeper_than(body, limit) == (depth > limit), (body, limit)


@pytest.mark.parametrize(
    ("body", "deeper"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ("[{" * 32 + "}]" * 32, False),
        ('[{"a":' * 33 + "1" + "}]" * 33, True),  # 66 alternating levels
        ('["' + "[" * 500 + '"]', False),  # brackets inside a string are text
        ('["\\"' + "[" * 500 + '"]', False),  # ... also after an escaped quote
        ("[[]," * 1000, True),  # never closed: a parser would still descend 1000 levels
        ('{"a": [1, 2}', False),  # a typo is the parser's to report, not "too deep"
    ],
)
def test_the_depth_scan_on_crafted_bodies(body, deeper):
    assert nested_deeper_than(body.encode(), DEPTH) is deeper


# --- deep JSON on every write route -----------------------------------------------------------


@pytest.mark.parametrize("levels", [DEPTH + 1, 30_000], ids=["65-levels", "30k-levels"])
@pytest.mark.parametrize(
    ("method", "path", "has_body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES]
)
def test_deep_json_is_a_400_naming_the_limit_on_every_write_route(
    world,  # noqa: F811
    method,
    path,
    has_body,
    levels,
):
    before = (Program.objects.count(), Service.objects.count(), Sample.objects.count())
    # Alertmanager's receiver takes a receiver or ingest key, not a user's token.
    role = "ingest" if path == "/api/v1/alertmanager/" else "admin"
    response = getattr(client_for(role, world), method)(
        _concrete(path, required=has_body), data=_deep(levels), content_type="application/json"
    )
    assert response["Content-Type"] == "application/json"
    if has_body:
        assert (response.status_code, response.json()) == (400, {"detail": TOO_DEEP})
    else:  # the operation reads no body: ignoring one is fine, a 5xx never
        assert response.status_code < 500
    assert (Program.objects.count(), Service.objects.count(), Sample.objects.count()) == before


def test_json_at_the_depth_limit_reaches_validation(admin_client_token):
    response = admin_client_token.post(
        "/api/v1/programs/", data=_deep(DEPTH), content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper" not in json.dumps(response.json())
    assert "name" in response.json()
    assert not Program.objects.exists()


def test_nan_is_refused_by_the_api_parser(admin_client_token):
    response = admin_client_token.post(
        "/api/v1/programs/", data='{"code": NaN}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "NaN is not valid JSON" in response.json()["detail"]


def test_json_that_is_not_utf8_is_a_400(admin_client_token):
    body = '{"code": "x"}'.encode("utf-16")
    response = admin_client_token.post(
        "/api/v1/programs/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


# --- the YAML path -----------------------------------------------------------


YAML_BOMBS = {
    "deep-flow": "a: " + "[" * 30_000 + "]" * 30_000 + "\n",
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
    "billion-laughs": 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    ),
}


@pytest.mark.parametrize("path", ["/api/v1/services/", "/api/v1/escalation-policies/"])
@pytest.mark.parametrize("bomb", list(YAML_BOMBS), ids=list(YAML_BOMBS))
def test_hostile_yaml_is_a_400_naming_the_line_on_both_yaml_routes(admin_client_token, path, bomb):
    response = admin_client_token.post(path, data=YAML_BOMBS[bomb], content_type="application/yaml")
    assert response.status_code == 400
    text = json.dumps(response.json())
    assert "line " in text
    assert ("nested deeper than" in text) or ("anchors (&name) are not allowed" in text)
    assert not Service.objects.exists()


# --- bodies over the limit: a 413 before the body is read ----------------------------------


class CountingInput:
    """A ``wsgi.input`` that records how much of the body anyone read."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def read(self, n=-1):
        n = self.size - self.read_bytes if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"x" * n

    def readline(self, n=-1):
        return self.read(n)


def _oversized(client, method, path, *, size=ELEVEN_MB, content_type="application/json"):
    stream = CountingInput(size)
    response = client.generic(
        method.upper(),
        path,
        data=b"",
        content_type=content_type,
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": stream},
    )
    return response, stream


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p, _ in OPERATIONS],
    ids=[f"{m} {p}" for m, p, _ in OPERATIONS],
)
def test_an_eleven_megabyte_body_is_a_json_413_unread_on_every_api_route(
    world,  # noqa: F811
    method,
    path,
):
    limit = (
        settings.HMS_INGEST_MAX_BYTES
        if path == "/api/v1/metrics/"
        else settings.HMS_REQUEST_MAX_BYTES
    )
    response, stream = _oversized(
        client_for("admin", world), method, _concrete(path, required=False)
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f"request body too large: {ELEVEN_MB} bytes, limit {limit}"
    }
    assert stream.read_bytes == 0


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/login/",
        "/admin/apm/program/add/",
        "/login/",
        "/",
        "/war-room/",
        "/healthz",
    ],
)
def test_an_eleven_megabyte_body_is_a_413_page_elsewhere(admin_client, path):
    response, stream = _oversized(
        admin_client, "post", path, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert f"limit {settings.HMS_REQUEST_MAX_BYTES}" in response.content.decode()
    assert stream.read_bytes == 0


def test_unknown_api_paths_answer_the_413_as_json_too(admin_client):
    response, _ = _oversized(admin_client, "post", "/api/v2/nothing/")
    assert (response.status_code, response["Content-Type"]) == (413, "application/json")


def test_ingest_has_its_own_bigger_limit(admin_client_token):
    three_mb = 3 * 1024 * 1024
    elsewhere, _ = _oversized(admin_client_token, "post", "/api/v1/programs/", size=three_mb)
    assert elsewhere.status_code == 413
    body = b'{"samples": [], "pad": "' + b"x" * three_mb + b'"}'
    ingest = admin_client_token.post("/api/v1/metrics/", data=body, content_type="application/json")
    assert ingest.status_code == 400  # read and parsed: the batch is what is wrong
    assert Sample.objects.count() == 0


def test_a_body_at_the_limit_is_read(admin_client_token, settings):
    settings.HMS_REQUEST_MAX_BYTES = 2048
    body = json.dumps({"code": "x" * 1900, "name": "n"})
    body += " " * (2048 - len(body))
    at_limit = admin_client_token.post(
        "/api/v1/programs/", data=body, content_type="application/json"
    )
    over = admin_client_token.post(
        "/api/v1/programs/", data=body + " ", content_type="application/json"
    )
    assert at_limit.status_code == 400 and "code" in at_limit.json()
    assert (over.status_code, over.json()) == (
        413,
        {"detail": "request body too large: 2049 bytes, limit 2048"},
    )


def test_a_malformed_content_length_is_a_400(admin_client_token):
    response = admin_client_token.generic(
        "POST",
        "/api/v1/programs/",
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH="1e9",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "invalid Content-Length: '1e9'"}


def test_the_limit_comes_before_every_middleware_that_reads_a_body():
    order = settings.MIDDLEWARE
    limit = order.index(f"{RequestBodyLimitMiddleware.__module__}.RequestBodyLimitMiddleware")
    readers = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "hms_site.throttle.LoginThrottleMiddleware",
        "axes.middleware.AxesMiddleware",
    ]
    present = [reader for reader in readers if reader in order]
    assert "django.middleware.csrf.CsrfViewMiddleware" in present
    for reader in present:
        assert limit < order.index(reader), reader
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= settings.HMS_INGEST_MAX_BYTES
