"""Request body parsers: the ``.ops.yaml`` text, and size-capped JSON for metrics."""

import json

from rest_framework import exceptions, parsers

from ops.servicedef.yamlload import MAX_DOCUMENT_BYTES

MAX_METRICS_BODY_BYTES = 4 * 1024 * 1024


class YamlDocument(str):
    """The raw YAML text; parsed later so errors can name lines."""


class YamlParser(parsers.BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_DOCUMENT_BYTES + 1) if stream else b""
        # Over-size text is passed on whole-enough to be refused by the loader.
        return YamlDocument(raw.decode("utf-8", errors="replace"))


class XYamlParser(YamlParser):
    media_type = "application/x-yaml"


class TextYamlParser(YamlParser):
    media_type = "text/yaml"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = f"request body is larger than {MAX_METRICS_BODY_BYTES} bytes"
    default_code = "payload_too_large"


class MetricsJSONParser(parsers.BaseParser):
    """JSON with a hard cap on body size (checked while reading, not trusted from headers).

    Not a ``JSONParser`` subclass on purpose: DRF hands those ``request.body``,
    which Django caps at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with an HTML 400.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            raise exceptions.ParseError("empty body")
        body = stream.read(MAX_METRICS_BODY_BYTES + 1)
        if len(body) > MAX_METRICS_BODY_BYTES:
            raise PayloadTooLarge()
        return _decode(body)


def _decode(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise exceptions.ParseError(f"JSON parse error: {exc}") from None
    except RecursionError:
        raise exceptions.ParseError("JSON parse error: nested too deeply") from None


class DocumentJSONParser(parsers.BaseParser):
    """A service definition as JSON: capped like the YAML text, deep nesting refused."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_DOCUMENT_BYTES + 1) if stream else b""
        if len(body) > MAX_DOCUMENT_BYTES:
            raise exceptions.ParseError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return _decode(body) if body else {}
