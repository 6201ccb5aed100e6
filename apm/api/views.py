from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apm import backtest, config_audit, services, signoff
from apm.api.permissions import ProgramAccess
from apm.api.serializers import (
    BaselineSerializer,
    BulkRunRequestSerializer,
    DeviationSerializer,
    ProgramSerializer,
    QueuedRunsSerializer,
    RunRequestSerializer,
)
from apm.api.throttles import RunRateThrottle
from apm.filtersets import BaselineFilterSet, DeviationFilterSet, ProgramFilterSet
from apm.models import Baseline, Deviation, Program


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


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
    throttle_scope = "baseline-run"  # only the single run has the throttle class

    def get_queryset(self):
        return (
            Baseline.objects.visible_to(self.request.user)
            .select_related("program", "validated_by")
            .with_latest_deviation()
            .order_by("program__code", "name")
        )

    def perform_destroy(self, instance):
        config_audit.delete(instance, actor=self.request.user)

    @extend_schema(request=RunRequestSerializer, responses={201: DeviationSerializer})
    @action(
        detail=True,
        methods=["post"],
        throttle_classes=[RunRateThrottle],
    )
    def run(self, request, pk=None):
        """Run the watchdog for this baseline now; answers the new deviation.

        Throttled per user (``HMS_RUN_RATE``); the probe runs in the request, bounded
        by its timeout. A past ``at`` (beyond ``HMS_CLOCK_SKEW_SECONDS``) records a
        ``backfill`` that changes no escalation; a far-future one is a 400.
        """
        baseline = self.get_object()
        params = RunRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        at, backfill = params.run_time
        trigger = Deviation.Trigger.BACKFILL if backfill else Deviation.Trigger.API
        deviation = services.run_baseline(baseline, at=at, trigger=trigger)
        return Response(DeviationSerializer(deviation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: None})
    @action(detail=True, methods=["post"], throttle_classes=[RunRateThrottle])
    def backtest(self, request, pk=None):
        """What-if: replay this baseline over ``since``..``until`` with candidate settings.

        Answers the evaluations, breaches, escalations that would open, notifications,
        leadership reviews and the points to draw; writes nothing (docs/VERDICTS.md).
        """
        baseline = self.get_object()
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["a JSON object"]})
        try:
            return Response(backtest.run(baseline, request.data))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None

    @extend_schema(request=None, responses={200: BaselineSerializer})
    @action(detail=True, methods=["post"], url_path="sign-off", url_name="sign-off")
    def sign_off(self, request, pk=None):
        """Sign the baseline's data source off as of now (staff of its program; audited).

        The sign-off stays fresh ``HMS_VALIDATION_MAX_AGE_DAYS``; changing the
        ``data_source`` or the probe clears it (docs/REVIEW.md).
        """
        baseline = self.get_object()  # 404 outside your scope, 403 when not your program
        signed = signoff.renew(baseline, actor=request.user)
        fresh = self.get_queryset().get(pk=signed.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        operation_id="v1_baselines_run_many",
        request=BulkRunRequestSerializer,
        responses={202: QueuedRunsSerializer},
    )
    @action(detail=False, methods=["post"], url_path="run", url_name="run-many")
    def run_many(self, request):
        """Queue a run of each given baseline to the worker (all or none); answers their ids.

        Every id must be a baseline you may see (else 400) and edit (else 403).
        """
        params = BulkRunRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(params.validated_data["baselines"]))
        found = {
            b.pk: b
            for b in Baseline.objects.visible_to(request.user)
            .select_related("program")
            .filter(pk__in=ids)
        }
        unknown = [pk for pk in ids if pk not in found]
        if unknown:
            raise ValidationError({"baselines": [f"no baseline with id {pk}" for pk in unknown]})
        for baseline in found.values():
            self.check_object_permissions(request, baseline)
        try:
            queued = services.queue_runs([found[pk] for pk in ids], trigger=Deviation.Trigger.API)
        except services.QueueUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from None
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class DeviationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeviationSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = DeviationFilterSet

    def get_queryset(self):
        return Deviation.objects.visible_to(self.request.user).order_by("-evaluated_at", "-id")
