"""``escalation-policies/``: JSON CRUD, and POST of the seed's YAML (``application/yaml``)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiRequest,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from apm import config_audit, policies
from apm.api.permissions import ProgramAccess
from apm.escalation_filters import EscalationPolicyFilterSet
from apm.models import Baseline, EscalationPolicy
from ops.api.parsers import JSONParser


class YAMLTextParser(BaseParser):
    """Hands the raw document to ``apm.policies`` (which knows lines, limits and aliases)."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        # At most one byte over the limit: the YAML loader refuses it, naming the limit.
        return stream.read(policies.MAX_DOCUMENT_BYTES + 1) if stream else b""


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class BaselineRefField(serializers.Field):
    """A baseline's id, or its name (with ``program`` when the name is ambiguous)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value.pk


class EscalationPolicySerializer(serializers.ModelSerializer):
    baseline = BaselineRefField(help_text="the baseline's id or name")
    program = serializers.CharField(
        required=False,
        write_only=True,
        help_text="program code: needed when the baseline's name is used in several programs",
    )
    baseline_name = serializers.CharField(source="baseline.name", read_only=True)
    program_code = serializers.CharField(source="baseline.program.code", read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = [
            "id", "baseline", "program", "baseline_name", "program_code", "after_days_no_fix",
            "action", "active", "source", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["source", "created_at", "updated_at"]
        # The (baseline, action) constraint is checked by full_clean() in validate(),
        # after the baseline reference (name or id) has been resolved.
        validators = []

    def validate(self, attrs):
        request = self.context["request"]
        policy = self.instance or EscalationPolicy(source="api")
        ref = attrs.pop("baseline", None)
        program = attrs.pop("program", None)
        visible = Baseline.objects.visible_to(request.user).select_related("program")
        if ref is not None:
            try:
                policy.baseline = policies.find_baseline(ref, program, queryset=visible)
            except policies.PolicyError as exc:
                raise serializers.ValidationError(exc.errors) from None
        elif policy.pk is None:
            raise serializers.ValidationError({"baseline": ["This field is required."]})
        for name, value in attrs.items():
            setattr(policy, name, value)
        if not policy.baseline.program.editable_by(request.user):
            raise PermissionDenied("Only staff of the program's owner group may set its policies.")
        try:
            policy.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        self._cleaned = policy
        return attrs

    def create(self, validated_data):
        return config_audit.save(self._cleaned, actor=self.context["request"].user)

    def update(self, instance, validated_data):
        return config_audit.save(self._cleaned, actor=self.context["request"].user)


class PolicyLoadSerializer(serializers.Serializer):
    """The answer to a YAML document: every policy it created or updated, in order."""

    policies = EscalationPolicySerializer(many=True, read_only=True)


YAML_EXAMPLE = (
    "- baseline: avg_wait_days\n  after_days_no_fix: 14\n  action: recommend_leadership_review\n"
)


class EscalationPolicyViewSet(viewsets.ModelViewSet):
    """Escalation policies; POST ``application/yaml`` loads a whole policy file (all or nothing)."""

    serializer_class = EscalationPolicySerializer
    permission_classes = [ProgramAccess]
    filterset_class = EscalationPolicyFilterSet
    parser_classes = [JSONParser, YAMLTextParser]

    def get_queryset(self):
        return (
            EscalationPolicy.objects.visible_to(self.request.user)
            .select_related("baseline__program")
            .order_by("baseline__program__code", "baseline__name", "action")
        )

    @extend_schema(
        request={
            "application/json": EscalationPolicySerializer,
            "application/yaml": OpenApiRequest(
                str, examples=[OpenApiExample("seed", value=YAML_EXAMPLE)]
            ),
        },
        responses={
            201: PolymorphicProxySerializer(
                component_name="EscalationPolicyCreated",
                serializers=[EscalationPolicySerializer, PolicyLoadSerializer],
                resource_type_field_name=None,
            )
        },
        description="JSON: one policy (answers it). YAML: the seed's list (answers "
        '`{"policies": [...]}`); errors name the line; entries for an existing '
        "(baseline, action) update it.",
    )
    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, bytes):
            return super().create(request, *args, **kwargs)
        visible = Baseline.objects.visible_to(request.user).select_related("program")

        def authorize(policy):
            if not policy.baseline.program.editable_by(request.user):
                raise PermissionDenied(
                    f"Only staff of {policy.baseline.program.code!r} may set its policies."
                )

        try:
            loaded = policies.load(
                request.data, source="api", actor=request.user, queryset=visible, check=authorize
            )
        except policies.PolicyError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            PolicyLoadSerializer({"policies": loaded}, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_destroy(self, instance):
        config_audit.delete(instance, actor=self.request.user)
