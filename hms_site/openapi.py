"""drf-spectacular post-processing: document the error answers every operation can give.

DRF answers 400 (validation; ``{"field": ["message"]}``), 401/403 (auth), 404
(unknown or invisible object), 409 (conflict), 413 (a body over its limit,
``hms_site/limits.py``), 415 (wrong content type) and 429
(throttled) without views saying so; the schema names them so that clients and
schemathesis know what to expect.
"""

ERROR_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Field name → list of messages (nested for lists and objects), "
    "or ``detail`` for errors not tied to a field.",
    "additionalProperties": {},
}


def _response(description: str, ref: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", ERROR_DETAIL)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            errors = {
                "400": _response("Invalid input", "ValidationError"),
                "401": _response("Not authenticated", "ErrorDetail"),
                "403": _response("Not allowed", "ErrorDetail"),
                "429": _response("Too many requests", "ErrorDetail"),
            }
            if "{" in path:
                errors["404"] = _response("Not found (or not visible to you)", "ErrorDetail")
            if method in {"post", "put", "patch"}:
                errors["413"] = _response("Request body over its limit", "ErrorDetail")
                errors["415"] = _response("Unsupported media type", "ErrorDetail")
            if method in {"post", "put", "patch", "delete"}:
                errors["409"] = _response("Conflicts with the current state", "ErrorDetail")
            for status, response in errors.items():
                responses.setdefault(status, response)
    return result
