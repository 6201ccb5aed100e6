"""``POST /api/v1/alertmanager/``: Prometheus Alertmanager's webhook receiver (payload version 4).

Authenticated by the receiver key ``HMS_ALERTMANAGER_TOKEN`` (alerts of any
registered service) or by a service's ingest key (alerts of that service only),
sent as ``Authorization: Bearer <key>`` (Alertmanager's ``http_config.authorization``).
"""

import hmac
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import authentication, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ops import alertmanager
from ops.api.authentication import IngestKeyAuthentication, IngestPrincipal


@dataclass(frozen=True)
class ReceiverPrincipal:
    """The Alertmanager receiver key: may report alerts of any service."""


class ReceiverKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = settings.HMS_ALERTMANAGER_TOKEN
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if not key or scheme.lower() != "bearer":
            return None
        if hmac.compare_digest(given.strip().encode(), key.encode()):
            return AnonymousUser(), ReceiverPrincipal()
        return None  # maybe an ingest key: the next class decides

    def authenticate_header(self, request):
        return 'Bearer realm="alertmanager"'


class ReceiverKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ops.api.alertmanager.ReceiverKeyAuthentication"
    name = "alertmanagerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The Alertmanager receiver key (`HMS_ALERTMANAGER_TOKEN`).",
        }


class IsReceiver(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ReceiverPrincipal | IngestPrincipal)


class AlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=alertmanager.ALERT_STATUSES)
    labels = serializers.DictField(child=serializers.CharField(max_length=1000, allow_blank=True))
    annotations = serializers.DictField(
        child=serializers.CharField(max_length=10000, allow_blank=True), required=False
    )
    startsAt = serializers.CharField(max_length=64, required=False)
    endsAt = serializers.CharField(max_length=64, required=False)
    fingerprint = serializers.RegexField(r"^[0-9a-f]{1,64}$")


class NotificationSerializer(serializers.Serializer):
    """The webhook body; fields HMS does not use (groupKey, externalURL, …) are accepted."""

    version = serializers.ChoiceField(choices=["4"])
    status = serializers.ChoiceField(choices=alertmanager.ALERT_STATUSES)
    alerts = AlertSerializer(many=True, max_length=1000)


class AlertmanagerView(APIView):
    authentication_classes = [ReceiverKeyAuthentication, IngestKeyAuthentication]
    permission_classes = [IsReceiver]

    @extend_schema(
        request=NotificationSerializer,
        responses=inline_serializer(
            "AlertmanagerOutcome", {"alerts": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def post(self, request):
        """Open or resolve the named-event incidents of the alerts' services."""
        body = NotificationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        only = request.auth.service_id if isinstance(request.auth, IngestPrincipal) else None
        outcomes = alertmanager.receive(
            body.validated_data["alerts"],
            label=settings.HMS_ALERTMANAGER_SERVICE_LABEL,
            only_service=only,
        )
        return Response({"alerts": [o.to_dict() for o in outcomes]})
