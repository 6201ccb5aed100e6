"""Request body limits: the one place a body's size is checked, before anything reads it.

``RequestBodyLimitMiddleware`` sits before every middleware and view that reads
the body (CSRF, login throttling, DRF parsers, admin forms). A body over its
endpoint's limit is answered 413 at once, unread: JSON
``{"detail": "request body too large: N bytes, limit M"}`` under ``/api/``, a
small HTML page elsewhere. ``Content-Length`` is checked as sent; a chunked body
without it (gunicorn decodes it and marks the stream ``wsgi.input_terminated``)
is read up to one byte over the limit, and handed on from memory.

Every endpoint gets ``HMS_REQUEST_MAX_BYTES`` except those named in
``ENDPOINT_LIMITS`` (URL name → setting): metric ingest carries batches of up to
10,000 samples (``HMS_INGEST_MAX_BYTES``). Django's own cap
(``DATA_UPLOAD_MAX_MEMORY_SIZE``, an HTML 400) is set to the largest limit in
settings, so it never answers first.

A body sent with ``Content-Encoding: gzip`` (the SDK's batches) is inflated here,
and the limit applies to the inflated body: inflating stops one byte past the
limit (a 413, so a decompression bomb never grows in memory beyond it); a body
that is not gzip is a 400; any other coding (``deflate``, ``br``, two stacked) is
a 415 naming it, with ``Accept-Encoding: gzip``. What is handed on is the plain
body, without the header, so no parser ever sees compressed bytes.
"""

import zlib
from io import BytesIO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.html import escape

ENDPOINT_LIMITS = {"metrics-ingest": "HMS_INGEST_MAX_BYTES"}


def default_limit() -> int:
    return settings.HMS_REQUEST_MAX_BYTES


def _all_limits() -> list[int]:
    return [default_limit(), *(getattr(settings, name) for name in ENDPOINT_LIMITS.values())]


def limit_for(path: str) -> int:
    """The body limit of the endpoint at ``path`` (the default for unknown paths)."""
    try:
        match = resolve(path)
    except Resolver404:
        return default_limit()
    setting = ENDPOINT_LIMITS.get(match.url_name)
    return getattr(settings, setting) if setting else default_limit()


def _answer(request, status: int, detail: str, title: str) -> HttpResponse:
    """JSON ``{"detail": ...}`` under ``/api/``, a small HTML page elsewhere."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": detail}, status=status)
    else:
        response = HttpResponse(
            f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(detail)}.</p>",
            status=status,
            content_type="text/html; charset=utf-8",
        )
    # Answered before CommonMiddleware, which would otherwise set it.
    response.headers["Content-Length"] = str(len(response.content))
    return response


def too_large(request, size: str, limit: int) -> HttpResponse:
    detail = f"request body too large: {size} bytes, limit {limit}"
    return _answer(request, 413, detail, "Request body too large")


GZIP_CODINGS = {"gzip", "x-gzip"}  # x-gzip: the same coding (RFC 9110, 8.4.1.3)
_INFLATE_STEP = 64 * 1024


class BadGzip(ValueError):
    pass


def inflate(body: bytes, limit: int) -> bytes | None:
    """The gzip ``body`` inflated, or None as soon as it would exceed ``limit`` bytes.

    Output is produced at most ``_INFLATE_STEP`` bytes at a time, so memory never
    holds more than ``limit`` plus one step. Concatenated members (RFC 1952) are read
    in turn; ``BadGzip`` for anything that is not whole, valid gzip.
    """
    out = bytearray()
    data = body
    if not data:
        raise BadGzip("empty body")
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while data:
                out += inflater.decompress(data, min(_INFLATE_STEP, limit + 1 - len(out)))
                if len(out) > limit:
                    return None
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
            if not inflater.eof:
                out += inflater.flush()
                raise BadGzip("truncated")
        except zlib.error as exc:
            raise BadGzip(str(exc)) from None
        data = inflater.unused_data
    return bytes(out)


def _coding(request) -> str | None:
    """The body's content coding in lower case; None for none (or ``identity``)."""
    raw = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    return None if raw in ("", "identity") else raw


def _unsupported(request, coding: str) -> HttpResponse:
    detail = f"Content-Encoding {coding[:40]!r} is not supported: send gzip or no encoding"
    response = _answer(request, 415, detail, "Unsupported content encoding")
    response.headers["Accept-Encoding"] = "gzip"
    return response


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self.check(request)
        return refused if refused is not None else self.get_response(request)

    def check(self, request):
        coding = _coding(request)
        if coding is not None and coding not in GZIP_CODINGS:
            return _unsupported(request, coding)
        refused = self._check_length(request)
        if refused is not None or coding is None:
            return refused
        return self._inflate(request)

    def _check_length(self, request):
        raw = request.META.get("CONTENT_LENGTH")
        if raw:
            try:
                length = int(raw)
            except ValueError:
                length = -1
            if length < 0:
                return _answer(request, 400, f"invalid Content-Length: {raw[:40]!r}", "Bad request")
            # Only a body over the smallest limit needs the endpoint's own (a URL lookup).
            if length > min(_all_limits()):
                limit = limit_for(request.path_info)
                if length > limit:
                    return too_large(request, str(length), limit)
            return None
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and request.META.get("wsgi.input_terminated"):
            return self._read_chunked(request)
        return None

    def _read_chunked(self, request):
        limit = limit_for(request.path_info)
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return too_large(request, f"over {limit}", limit)
        _hand_on(request, body)
        return None

    def _inflate(self, request):
        limit = limit_for(request.path_info)
        compressed = request._stream.read(limit + 1)  # its length was checked above
        try:
            body = inflate(compressed, limit)
        except BadGzip as exc:
            detail = f"Content-Encoding gzip: the body is not valid gzip ({exc})"
            return _answer(request, 400, detail, "Bad request")
        if body is None:
            return too_large(request, f"over {limit} (inflated)", limit)
        del request.META["HTTP_CONTENT_ENCODING"]
        _hand_on(request, body)
        return None


def _hand_on(request, body: bytes) -> None:
    """Make ``body`` the request's body (read from memory by whatever comes next)."""
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(BytesIO(body), len(body))
