"""``/api/v1/incidents/``: incidents with their action runs; ``POST .../resolve/`` closes one."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.api.audit import CanViewModel
from ops.api.authentication import IngestKeyAuthentication, IngestPrincipal
from ops.models import ActionRun, Incident, Service
from ops.playbook import incidents, triggers
from ops.playbook.filtersets import IncidentFilterSet


class ActionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionRun
        fields = ["id", *ActionRun.TIMELINE_FIELDS]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    actions = ActionRunSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "service",
            "slo",
            "condition",
            "state",
            "value",
            "opened_at",
            "resolved_at",
            "resolved_by",
            "in_cooldown",
            "cooldown_until",
            "actions",
        ]
        read_only_fields = fields


class CanResolveIncident(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("ops.change_incident"))


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    """Incidents, newest first, each with its action runs (every attempt in ``detail``)."""

    queryset = Incident.objects.prefetch_related(
        Prefetch("actions", queryset=ActionRun.objects.order_by("step", "position"))
    )
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    permission_classes = [CanViewModel]

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanResolveIncident])
    def resolve(self, request, pk=None):
        """Resolve the incident by hand: pending actions are skipped, ``recovered`` steps run."""
        incident = self.get_object()
        incidents.resolve_incident(incident, by=request.user.get_username())
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)


class EventSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[A-Za-z_][A-Za-z0-9_.:-]*$", max_length=100, help_text="e.g. unauthorized_login"
    )
    pod = serializers.RegexField(
        r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        max_length=253,
        required=False,
        help_text="The pod concerned (``isolate pod`` takes it out of service).",
    )
    detail = serializers.DictField(required=False, help_text="Anything else to keep.")


class CanRaiseEvent(permissions.BasePermission):
    """The service's own ingest key, or a user who may open incidents."""

    def has_permission(self, request, view):
        if isinstance(request.auth, IngestPrincipal):
            return request.auth.service_id == view.kwargs["service_id"]
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("ops.add_incident"))


class EventView(APIView):
    """``POST /api/v1/services/{id}/events/``: report an event such as ``unauthorized_login``."""

    authentication_classes = [IngestKeyAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [CanRaiseEvent]

    @extend_schema(request=EventSerializer, responses={201: IncidentSerializer})
    def post(self, request, service_id):
        service = get_object_or_404(Service, pk=service_id)
        serializer = EventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        detail = {**data.get("detail", {}), **({"pod": data["pod"]} if "pod" in data else {})}
        try:
            incident = triggers.raise_event(service, data["name"], detail)
        except triggers.EventError as exc:
            raise ValidationError({"name": [str(exc)]}) from None
        incident = Incident.objects.prefetch_related("actions").get(pk=incident.pk)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)
