"""``/api/v1/incidents/``: incidents with their action runs; ``POST .../resolve/`` closes one."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ops.api.audit import CanViewModel
from ops.models import ActionRun, Incident
from ops.playbook import runner
from ops.playbook.filtersets import IncidentFilterSet


class ActionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionRun
        fields = [
            "id",
            "step",
            "position",
            "trigger",
            "action",
            "arguments",
            "status",
            "due_at",
            "attempts",
            "started_at",
            "finished_at",
            "detail",
        ]
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
        runner.resolve_incident(incident, by=request.user.get_username())
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)
