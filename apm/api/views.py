from django.db.models import Count, ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apm import config_audit, services
from apm.api.permissions import ProgramAccess
from apm.api.serializers import (
    BaselineSerializer,
    DeviationSerializer,
    ProgramSerializer,
    RunRequestSerializer,
)
from apm.filtersets import BaselineFilterSet, DeviationFilterSet, ProgramFilterSet
from apm.models import Baseline, Deviation, Program


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ProgramViewSet(viewsets.ModelViewSet):
    serializer_class = ProgramSerializer
    permission_classes = [ProgramAccess]
    filterset_class = ProgramFilterSet

    def get_queryset(self):
        return (
            Program.objects.visible_to(self.request.user)
            .select_related("owner_group")
            .annotate(baseline_count=Count("baselines"))
            .order_by("code")
        )

    def perform_destroy(self, instance):
        try:
            config_audit.delete(instance, actor=self.request.user)
        except ProtectedError:
            raise Conflict(
                "This program still has baselines; delete or deactivate them first "
                "(audits trace every baseline back to its program)."
            ) from None


class BaselineViewSet(viewsets.ModelViewSet):
    serializer_class = BaselineSerializer
    permission_classes = [ProgramAccess]
    filterset_class = BaselineFilterSet

    def get_queryset(self):
        return (
            Baseline.objects.visible_to(self.request.user)
            .select_related("program")
            .with_latest_deviation()
            .order_by("program__code", "name")
        )

    def perform_destroy(self, instance):
        config_audit.delete(instance, actor=self.request.user)

    @extend_schema(request=RunRequestSerializer, responses={201: DeviationSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Run the watchdog for this baseline now; answers the new deviation."""
        baseline = self.get_object()
        params = RunRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        deviation = services.run_baseline(
            baseline, at=params.validated_data.get("at"), trigger=Deviation.Trigger.API
        )
        return Response(DeviationSerializer(deviation).data, status=status.HTTP_201_CREATED)


class DeviationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeviationSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = DeviationFilterSet

    def get_queryset(self):
        return Deviation.objects.visible_to(self.request.user).order_by("-evaluated_at", "-id")
