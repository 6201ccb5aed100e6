"""OPS API views: thin wrappers over ``ops.services``, ``ops.metrics`` and the SLO rows."""

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from ops import backtest, metrics, services
from ops.api import serializers as s
from ops.api.authentication import IngestKeyAuthentication, IngestPrincipal
from ops.api.parsers import (
    DocumentJSONParser,
    MetricsJSONParser,
    TextYamlParser,
    XYamlParser,
    YamlDocument,
    YamlParser,
)
from ops.api.permissions import CanIngestMetrics, ServicePermissions
from ops.api.throttles import IngestRateThrottle
from ops.budget.evaluate import status_of as error_budget
from ops.filtersets import SeriesParams, ServiceFilterSet
from ops.metrics import dropped
from ops.models import SLO, Service
from ops.playbook.incidents import open_incident_summary
from ops.servicedef import DefinitionError
from ops.slo import last_pass_at

DOCUMENT_REQUEST = {
    "application/yaml": OpenApiTypes.STR,
    "application/json": OpenApiTypes.OBJECT,
}
MAX_POINTS = 10_000
DEFAULT_SERIES_WINDOW = timedelta(hours=1)


class ServiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Services registered from ``.ops.yaml`` (POST/PUT the YAML text or the same shape as JSON)."""

    queryset = Service.objects.prefetch_related(
        "sensors", Prefetch("slos", queryset=SLO.objects.order_by("pk"))
    )
    serializer_class = s.ServiceSerializer
    permission_classes = [ServicePermissions]
    filterset_class = ServiceFilterSet
    parser_classes = [YamlParser, XYamlParser, TextYamlParser, DocumentJSONParser]
    lookup_value_regex = r"[A-Za-z][A-Za-z0-9_.-]*"

    def _register(self, request, expected_id=None):
        data = request.data
        if not isinstance(data, YamlDocument) and not (isinstance(data, dict) and data):
            return Response(
                {"document": ["empty or not a mapping: send the .ops.yaml text or a JSON object"]},
                400,
            )
        if isinstance(data, dict):
            data = dict(data)
            if expected_id is not None:
                data.setdefault("id", expected_id)
        try:
            registration = services.register_service(
                data, expected_id=expected_id, actor=request.user
            )
        except DefinitionError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        service = self.get_queryset().get(pk=registration.service.pk)
        body = s.RegistrationSerializer(service).data
        body["ingest_key"] = registration.ingest_key
        code = status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK
        return Response(body, status=code)

    @extend_schema(
        request=DOCUMENT_REQUEST,
        responses={201: s.RegistrationSerializer, 200: s.RegistrationSerializer},
        description="Register a service, or update it when the id exists (previous version kept). "
        "The ingest key is in the answer only on first registration.",
    )
    def create(self, request):
        return self._register(request)

    @extend_schema(request=DOCUMENT_REQUEST, responses={200: s.RegistrationSerializer})
    def update(self, request, pk=None):
        return self._register(request, expected_id=pk)

    def perform_destroy(self, instance):
        services.delete_service(instance, actor=self.request.user)

    @extend_schema(responses=s.StatusSerializer)
    @action(detail=True, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def status(self, request, pk=None):
        service = get_object_or_404(Service, pk=pk)
        slo = service.slos.order_by("pk").first()
        if slo is None:
            raise exceptions.NotFound("this service has no SLO")
        budget = error_budget(slo)
        return Response(
            {
                "service": service.id,
                "slo_state": slo.state,
                "value": slo.value,
                "threshold": slo.threshold,
                "window_seconds": slo.window_seconds,
                "percentile": slo.percentile,
                "target": slo.target,
                "min_samples": slo.min_samples,
                "sample_count": slo.sample_count,
                "in_maintenance": slo.in_maintenance,
                "since": slo.since,
                "evaluated_at": last_pass_at(),
                "open_incident": open_incident_summary(service.id),
                **({"error_budget": budget} if budget is not None else {}),
            }
        )

    @extend_schema(request=None, responses={200: None})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def backtest(self, request, pk=None):
        """What-if: the service's SLO replayed over ``since``..``until`` with candidate
        ``threshold``, ``window_seconds``, ``percentile``, ``min_samples``; writes nothing.

        Any signed-in user, as ``status``: it reads what the status and samples show."""
        service = get_object_or_404(Service, pk=pk)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["a JSON object"]})
        try:
            return Response(backtest.run(service, request.data))
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None

    @extend_schema(request=None, responses=s.IngestKeySerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        """Revoke the service's ingest keys and return a new one (shown this once)."""
        service = self.get_object()
        if not request.user.has_perm("ops.change_service"):
            raise exceptions.PermissionDenied("rotating a key needs ops.change_service")
        return Response({"ingest_key": services.rotate_ingest_key(service, actor=request.user)})


class MetricsView(APIView):
    """Push one sample or a batch of up to 10,000 (all-or-nothing)."""

    authentication_classes = [IngestKeyAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [CanIngestMetrics]
    parser_classes = [MetricsJSONParser]
    throttle_classes = [IngestRateThrottle]

    @extend_schema(
        request={"application/json": s.SampleBatchSerializer},
        responses={
            201: s.AcceptedSerializer,
            400: OpenApiResponse(
                description="Errors by sample index and field, e.g. "
                '{"samples": {"3": {"value": ["must be a finite number"]}}}'
            ),
            403: OpenApiResponse(description="an ingest key writing another service"),
            413: OpenApiResponse(description="body larger than 4 MiB (inflated, for gzip)"),
            415: OpenApiResponse(description="a Content-Encoding other than gzip"),
        },
        description="Send one sample object (`service`, `name`, `value`, `ts`?, `labels`?) or "
        '`{"samples": [...]}`. Authenticate with a user token (needs ops.add_sample) or the '
        "service's ingest key: `Authorization: Bearer <key>` or `X-HMS-Ingest-Key: <key>`. "
        "The body may be gzip (`Content-Encoding: gzip`; the size limit applies inflated). "
        "`X-HMS-Dropped: <service>=<count>, ...` reports samples the sender dropped "
        "(counted when the batch is accepted; a bare count is the ingest key's service).",
    )
    def post(self, request):
        principal = request.auth if isinstance(request.auth, IngestPrincipal) else None
        service_id = principal.service_id if principal else None
        try:
            accepted = dropped.ingest_reporting_drops(
                request.data, request.META.get(dropped.META_KEY), service_id=service_id
            )
        except metrics.IngestError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        except metrics.IngestForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except metrics.StoreRefused as exc:
            # The engine refused the batch itself (late or duplicate samples): nothing was
            # stored, and sending it again would be refused again.
            return Response({"samples": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        except metrics.StoreUnavailable as exc:
            # Nothing was stored: the sender keeps the batch and tries again later.
            return Response(
                {"detail": f"the metrics store is unavailable: {exc}"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return Response({"accepted": accepted}, status=status.HTTP_201_CREATED)


class SeriesView(APIView):
    """Points of one metric of one service (every label set), for graphs."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("service", str, required=True),
            OpenApiParameter("name", str, required=True),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="default: 1 hour ago"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="default: now"),
        ],
        responses=s.SeriesResponseSerializer,
    )
    def get(self, request):
        now = timezone.now()
        params = request.query_params.copy()
        # Absent or empty (?since=) both mean the default window.
        if not params.get("since"):
            params["since"] = (now - DEFAULT_SERIES_WINDOW).isoformat()
        if not params.get("until"):
            params["until"] = now.isoformat()
        form = SeriesParams(params)
        if not form.is_valid():
            return Response(form.errors, status=status.HTTP_400_BAD_REQUEST)
        data = form.cleaned_data
        found = metrics.get_store().points(
            data["service"], data["name"], data["since"], data["until"], MAX_POINTS
        )
        return Response(
            {
                "service": data["service"],
                "name": data["name"],
                "since": data["since"],
                "until": data["until"],
                "truncated": found.truncated,
                "series": [
                    {
                        "labels": one.labels,
                        "points": [[ts.isoformat(), value] for ts, value in one.points],
                    }
                    for one in found.series
                ],
            }
        )
