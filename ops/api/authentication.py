"""Ingest-key authentication for ``POST /api/v1/metrics/``.

A service's ingest key is sent as ``Authorization: Bearer <key>`` or
``X-HMS-Ingest-Key: <key>``. It authenticates no user: ``request.auth`` is an
``IngestPrincipal`` naming the one service the key may write.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ops.models.service import INGEST_KEY_PREFIX
from ops.services import service_for_ingest_key

HEADER = "X-HMS-Ingest-Key"


@dataclass(frozen=True)
class IngestPrincipal:
    service_id: str


class IngestKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = request.META.get("HTTP_X_HMS_INGEST_KEY", "").strip()
        if not key:
            scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() != "bearer":
                return None
            key = value.strip()
        if not key.startswith(INGEST_KEY_PREFIX):
            raise exceptions.AuthenticationFailed("not an ingest key")
        service_id = service_for_ingest_key(key)
        if service_id is None:
            raise exceptions.AuthenticationFailed("unknown or revoked ingest key")
        return AnonymousUser(), IngestPrincipal(service_id)

    def authenticate_header(self, request):
        return 'Bearer realm="ingest"'


class IngestKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ops.api.authentication.IngestKeyAuthentication"
    name = "ingestKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A service's ingest key (shown once on registration, rotatable in the admin), "
                f"as `Authorization: Bearer <key>` or `{HEADER}: <key>`. It may only write "
                "metrics of its own service; a missing `service` defaults to it."
            ),
        }
