"""``explanations/`` (CRUD, versioned, audited) and ``programs/{id}/review/?quarter=2027Q1``."""

from datetime import UTC

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apm import explanations, signoff
from apm.api.permissions import ProgramAccess
from apm.models import Baseline, Explanation, ExplanationVersion, Program
from apm.review.quarters import Quarter, QuarterError
from apm.review.status import review
from apm.trail import as_csv as trail_csv
from apm.trail import as_json as trail_json
from apm.trail import build as build_trail


class ExplanationVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExplanationVersion
        fields = ["version", "why", "plan", "due_date", "author", "saved_at"]
        read_only_fields = fields


class ExplanationSerializer(serializers.ModelSerializer):
    baseline = serializers.PrimaryKeyRelatedField(queryset=Baseline.objects.all())
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    versions = ExplanationVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Explanation
        fields = [
            "id",
            "baseline",
            "period",
            "why",
            "plan",
            "due_date",
            "author",
            "version",
            "created_at",
            "updated_at",
            "versions",
        ]
        read_only_fields = ["author", "version", "created_at", "updated_at", "versions"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["baseline"].queryset = Baseline.objects.visible_to(request.user)
        return fields

    def validate_period(self, value):
        try:
            return str(Quarter.parse(value))
        except QuarterError as exc:
            raise ValidationError(str(exc)) from None

    def validate(self, attrs):
        instance = self.instance or Explanation()
        for name, value in attrs.items():
            setattr(instance, name, value)
        user = self.context["request"].user
        if not instance.baseline.program.editable_by(user):
            raise PermissionDenied("Only staff of the program's owner group may explain it.")
        instance.author = user
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise ValidationError(serializers.as_serializer_error(exc)) from None
        self._cleaned = instance
        return attrs

    def create(self, validated_data):
        return explanations.save(self._cleaned, actor=self.context["request"].user)

    def update(self, instance, validated_data):
        return explanations.save(self._cleaned, actor=self.context["request"].user)


class ExplanationViewSet(viewsets.ModelViewSet):
    """Why a quarter's target was missed, the plan and its date; every edit is a new version."""

    serializer_class = ExplanationSerializer
    permission_classes = [ProgramAccess]
    filterset_fields = ["baseline", "period"]

    def get_queryset(self):
        return (
            Explanation.objects.visible_to(self.request.user)
            .select_related("baseline__program", "author")
            .prefetch_related("versions")
            .order_by("baseline_id", "-period")
        )

    def perform_destroy(self, instance):
        explanations.delete(instance, actor=self.request.user)


def quarter_param(request) -> Quarter:
    text = request.query_params.get("quarter")
    if not text:
        return Quarter.containing(timezone.now())
    try:
        return Quarter.parse(text)
    except QuarterError as exc:
        raise ValidationError({"quarter": [str(exc)]}) from None


def review_rows(program: Program, quarter: Quarter, as_of):
    baselines = (
        program.baselines.filter(active=True)
        .with_data_age()
        .select_related("validated_by")
        .order_by("name")
    )
    rows = review(baselines, quarter, as_of)
    signoff.attach([r.baseline for r in rows], as_of)
    return rows


def review_payload(program: Program, quarter: Quarter, as_of) -> dict:
    return {
        "program": program.pk,
        "code": program.code,
        "authority": program.authority,
        "quarter": str(quarter),
        "start": quarter.start,
        "end": quarter.end,
        "as_of": min(as_of, quarter.end),
        "baselines": [
            {
                "id": r.baseline.pk,
                "name": r.baseline.name,
                "target_value": r.baseline.target_value,
                "compare_op": r.baseline.compare_op,
                "threshold_pct": r.baseline.threshold_pct,
                "owner": program.owner_group.name if program.owner_group else None,
                "status": r.status,
                "evaluations": r.evaluations,
                "missing": r.missing,
                "value": r.value,
                "projection": r.projection,
                "trend_per_day": r.trend_per_day,
                "trend": r.direction or None,
                "open_escalations": r.open_escalations,
                "explanation_due": r.explanation_due,
                "explanation": ExplanationSerializer(r.explanation).data if r.explanation else None,
                "data_quality": r.quality,
                "data_quality_text": r.quality_words or None,
                "data_source": r.baseline.data_source,
                "validated_by": r.baseline.validated_by.get_username()
                if r.baseline.validated_by
                else None,
                "validated_at": r.baseline.validated_at,
                "source_check": r.baseline.source.as_dict(),
            }
            for r in review_rows(program, quarter, as_of)
        ],
    }


class ProgramReviewView(APIView):
    """The quarterly review of a program (31 U.S.C. §1121): each baseline on track or not."""

    permission_classes = [ProgramAccess]

    @extend_schema(
        parameters=[OpenApiParameter("quarter", str, description="e.g. 2027Q1 (default: now)")],
        responses=inline_serializer(
            "ProgramReview",
            {
                "quarter": serializers.CharField(),
                "baselines": serializers.ListField(
                    child=serializers.DictField(),
                    help_text="One row per baseline (docs/REVIEW.md): status, trend, projection, "
                    "data_quality (sample_count, completeness, newest_sample_at, source) and "
                    "source_check (signoff, stale_data, low_completeness, summary, flags).",
                ),
            },
        ),
    )
    def get(self, request, pk):
        program = get_object_or_404(
            Program.objects.visible_to(request.user).select_related("owner_group"), pk=pk
        )
        return Response(review_payload(program, quarter_param(request), timezone.now()))


class _OwnFormat(DefaultContentNegotiation):
    """The view streams JSON or CSV itself by ``format``; errors still answer JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProgramTrailView(APIView):
    """Every step from the law to the fix, with audit hashes and the chain's verification.

    ``format=csv`` for a spreadsheet; the answer streams, whatever the program's size.
    """

    permission_classes = [ProgramAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _OwnFormat

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="ISO-8601; default: the beginning"),
            OpenApiParameter("until", str, description="ISO-8601; default: now"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk):
        program = get_object_or_404(Program.objects.visible_to(request.user), pk=pk)
        since, until = _moment(request, "since"), _moment(request, "until")
        trail = build_trail(program, since=since, until=until)
        if request.query_params.get("format") == "csv":
            response = StreamingHttpResponse(trail_csv(trail), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="trail-{program.code}.csv"'
            return response
        return StreamingHttpResponse(trail_json(trail), content_type="application/json")


def _moment(request, name):
    text = request.query_params.get(name)
    if not text:
        return None
    value = parse_datetime(text)
    if value is None:
        raise ValidationError({name: [f"{text!r} is not an ISO-8601 date and time"]})
    return value if is_aware(value) else make_aware(value, UTC)
