"""Request body parsers: the ``.ops.yaml`` text, and the API's one JSON parser.

``JSONParser`` is the default for every API view (``REST_FRAMEWORK``): it refuses
JSON nested deeper than ``HMS_JSON_MAX_DEPTH`` levels with a 400 naming the limit,
found by a scan that never recurses, before ``json.loads`` could raise a
``RecursionError`` (or hand a structure to code that recurses over it).

Body size is not checked here: ``hms_site.limits.RequestBodyLimitMiddleware``
answers a body over its endpoint's limit with a 413 before anything reads it, and
the stream handed to a parser is bounded by the ``Content-Length`` it checked.
It also inflates a ``Content-Encoding: gzip`` body (the limit applies inflated) and
removes the header, so a parser only ever reads plain text; a body that still
carries a coding (the middleware was bypassed) is refused here with a 415, never
parsed as compressed bytes.
"""

import json
import re

import orjson
from django.conf import settings
from rest_framework import exceptions, parsers

from ops.servicedef.yamlload import MAX_DOCUMENT_BYTES


class YamlDocument(str):
    """The raw YAML text; parsed later so errors can name lines."""


def refuse_encoded(parser_context) -> None:
    """A 415 for a body that still has a ``Content-Encoding`` (the middleware inflates gzip
    and drops the header; anything left is a coding nothing here can read)."""
    request = (parser_context or {}).get("request")
    coding = request.META.get("HTTP_CONTENT_ENCODING", "").strip() if request else ""
    if coding and coding.lower() != "identity":
        raise exceptions.UnsupportedMediaType(
            f"Content-Encoding {coding[:40]}",
            detail=f"Content-Encoding {coding[:40]!r} is not supported",
        )


class YamlParser(parsers.BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        refuse_encoded(parser_context)
        raw = stream.read(MAX_DOCUMENT_BYTES + 1) if stream else b""
        # Over-size text is passed on whole-enough to be refused by the loader.
        return YamlDocument(raw.decode("utf-8", errors="replace"))


class XYamlParser(YamlParser):
    media_type = "application/x-yaml"


class TextYamlParser(YamlParser):
    media_type = "text/yaml"


# An escape inside a string (\", \\, \u00e9): a backslash and the byte after it.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def _brackets_outside_strings(body: bytes) -> bytes:
    """The body's ``[``/``]`` (``{``/``}`` mapped to them) that are not inside strings."""
    if b"\\" in body:
        # Escapes only occur in strings, and none of them ends one: drop them whole.
        body = _ESCAPE.sub(b"", body)
    # Once every other byte is gone, strings without brackets in them are "" pairs.
    structure = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:  # some string holds a bracket
        structure = _STRING.sub(b"", structure)
    return structure.translate(_ONE_KIND, b'"')  # a quote left is an unterminated string


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON text ``body`` could nest arrays/objects more than ``limit`` deep.

    Linear passes in C, no recursion. Each round deletes the innermost ``[]``
    pairs, so a pair left after ``limit`` rounds is nested deeper. When the rounds
    stop early, what is left is unclosed (``]]][[[``): the depth a parser could
    reach is at most the rounds done plus the unclosed openers. Only invalid
    (unbalanced) text can be refused without really being that deep.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(body)
    if b"[" * (limit + 1) in brackets:
        return True
    rounds = 0
    while brackets and rounds < limit:
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            break
        brackets, rounds = peeled, rounds + 1
    return b"[]" in brackets or brackets.count(b"[") + rounds > limit


def loads(body: bytes, *, max_depth: int | None = None, allow_nan: bool = False):
    """Parse a JSON body for the API; ``ParseError`` (400) naming what is wrong.

    JSON on the wire is UTF-8 (RFC 8259); other encodings are refused, so the
    byte scan sees the same brackets and quotes as the parser.
    """
    limit = settings.HMS_JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError(f"JSON parse error - not UTF-8: {exc.reason}") from None
    if nested_deeper_than(body, limit):
        raise exceptions.ParseError(f"JSON nested deeper than {limit} levels")
    try:
        data = json.loads(text, parse_constant=None if allow_nan else _refuse_constant)
    except ValueError as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
    except RecursionError:  # unreachable after the scan; the last line of defence
        raise exceptions.ParseError(f"JSON nested deeper than {limit} levels") from None
    _refuse_nul(text, data)
    return data


# A \u0000 escape that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
NUL_REFUSED = "may not contain NUL (\\u0000): it cannot be stored"


def _nul_path(value) -> tuple:
    """The path to the first string (value or key) holding a NUL, without recursion."""
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return path
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return (*path, key)
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
    return ()


def _refuse_nul(text: str, data) -> None:
    """A 400 naming the top-level field (and the path inside it) of a string with a NUL."""
    if "\\u0000" not in text or not _NUL_ESCAPE.search(text):
        return
    path = _nul_path(data)
    if not path or not isinstance(data, dict):
        raise exceptions.ParseError(f"JSON strings {NUL_REFUSED}")
    field = str(path[0]).replace("\x00", "\\x00")
    inside = ".".join(str(part).replace("\x00", "\\x00") for part in path[1:])
    raise exceptions.ParseError(
        {field: [f"Text {NUL_REFUSED}" + (f" (at {inside})" if inside else "")]}
    )


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON (send a number or null)")


class JSONParser(parsers.BaseParser):
    """The API's JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``).

    Like DRF's, ``NaN``/``Infinity`` are refused unless ``allow_nan``; unlike it,
    depth is bounded and a bad body is always a 400.
    """

    media_type = "application/json"
    renderer_class = parsers.JSONParser.renderer_class
    allow_nan = False

    def parse(self, stream, media_type=None, parser_context=None):
        refuse_encoded(parser_context)
        body = stream.read() if stream else b""
        return self.decode(body)

    def decode(self, body: bytes):
        return loads(body, allow_nan=self.allow_nan)


def _refuse_nul_in_fields(data) -> None:
    """Form fields: a NUL in a name or value is a 400 naming the field."""
    for name, values in data.lists():
        if "\x00" in name or any(isinstance(v, str) and "\x00" in v for v in values):
            raise exceptions.ParseError({name.replace("\x00", "\\x00"): [f"Field {NUL_REFUSED}"]})


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing NUL characters (PostgreSQL text cannot hold them)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing NUL characters in field names and values."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_fields(result.data)
        return result


def loads_fast(body: bytes, *, max_depth: int | None = None, allow_nan: bool = False):
    """``loads`` with orjson first (about 3x faster on a 1,000-sample batch).

    orjson takes only strict UTF-8 JSON within 64-bit integers; everything it refuses
    (NaN, a lone surrogate escape, a huge integer, bad text) goes through ``loads``, so
    what is accepted and every error message are ``loads``'s. The depth and NUL rules
    are checked on what orjson accepted, as ``loads`` checks them.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return loads(body, max_depth=max_depth, allow_nan=allow_nan)
    limit = settings.HMS_JSON_MAX_DEPTH if max_depth is None else max_depth
    if nested_deeper_than(body, limit):
        raise exceptions.ParseError(f"JSON nested deeper than {limit} levels")
    if b"\\u0000" in body:
        _refuse_nul(body.decode("utf-8"), data)
    return data


class MetricsJSONParser(JSONParser):
    """Ingest: ``NaN``/``Infinity`` parse, so the sample that sent one is named (index, field);
    orjson first (``loads_fast``): the batches are the API's largest bodies."""

    allow_nan = True

    def decode(self, body: bytes):
        return loads_fast(body, allow_nan=self.allow_nan)


class DocumentJSONParser(JSONParser):
    """A service definition as JSON: capped like the YAML text (a document limit, a 400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        refuse_encoded(parser_context)
        body = stream.read(MAX_DOCUMENT_BYTES + 1) if stream else b""
        if len(body) > MAX_DOCUMENT_BYTES:
            raise exceptions.ParseError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return self.decode(body) if body else {}
