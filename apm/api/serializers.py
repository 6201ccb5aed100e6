from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from apm import config_audit
from apm.models import Baseline, Deviation, Program
from apm.models.access import may_write_probe, owns_group
from apm.services import dated_run

SQL_PROBE_REFUSED = (
    "SQL probes read the monitor's database: saving one needs the 'apm.use_sql_probe' permission."
)


class ModelCleanSerializer(serializers.ModelSerializer):
    """Runs the model's ``full_clean()`` so the API refuses exactly what the admin refuses."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance or self.Meta.model()
        for name, value in attrs.items():
            setattr(instance, name, value)
        self.authorize(instance)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        self._cleaned = instance
        return attrs

    def authorize(self, instance):
        """Raise ``PermissionDenied`` when the user may not write ``instance`` as changed."""

    def create(self, validated_data):
        return config_audit.save(self._cleaned, actor=self.context["request"].user)

    def update(self, instance, validated_data):
        return config_audit.save(self._cleaned, actor=self.context["request"].user)


class ProgramSerializer(ModelCleanSerializer):
    owner_group = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), allow_null=True, required=False
    )
    baseline_count = serializers.SerializerMethodField()

    class Meta:
        model = Program
        fields = [
            "id", "code", "name", "authority", "owner_group", "public",
            "baseline_count", "created_at", "updated_at",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.INT)
    def get_baseline_count(self, program) -> int:
        # Lists annotate the count in their one query; a just-created program counts once.
        annotated = getattr(program, "baseline_count", None)
        return annotated if annotated is not None else program.baselines.count()

    def authorize(self, instance):
        if not owns_group(self.context["request"].user, instance.owner_group_id):
            raise PermissionDenied("Programs may only be owned by one of your own groups.")


class BaselineSerializer(ModelCleanSerializer):
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    # A plain string here: the enum is named once, on Deviation.status (ok/breach/no_data/error).
    latest_status = serializers.CharField(
        read_only=True, allow_null=True, help_text="status of the latest deviation, if any"
    )
    latest_deviation_pct = serializers.FloatField(read_only=True, allow_null=True)
    latest_evaluated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    validated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Baseline
        fields = [
            "id", "program", "name", "target_value", "compare_op", "probe_kind", "probe_query",
            "threshold_pct", "min_samples", "count_query", "schedule", "period", "period_tz",
            "active",
            "probe_verified", "probe_note", "periodic_task", "latest_status",
            "latest_deviation_pct", "latest_evaluated_at",
            "data_source", "validated_by", "validated_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["probe_verified", "probe_note", "periodic_task", "validated_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A program you cannot see is "does not exist", not "forbidden".
            fields["program"].queryset = Program.objects.visible_to(request.user)
        return fields

    def authorize(self, instance):
        user = self.context["request"].user
        if not instance.program.editable_by(user):
            raise PermissionDenied("Only staff of the program's owner group may add baselines.")
        if not may_write_probe(user, instance):
            raise PermissionDenied(SQL_PROBE_REFUSED)


class DeviationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deviation
        fields = [
            "id", "baseline", "evaluated_at", "actual", "deviation_pct", "status",
            "evidence", "trigger", "slot", "recorded_at", "sample_count", "newest_sample_at",
            "completeness", "source", "in_maintenance",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {  # the schema's words (docs/VERDICTS.md, "Completeness")
            "completeness": {
                "help_text": "Fraction of the evaluated window the samples cover (0..1): "
                "samples / (window / the sensor's interval), at most 1. Null: the probe "
                "cannot know (PromQL and SQL probes; a metric window with one sample)."
            }
        }


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with a time zone; a time without one is refused, not read as UTC."""

    default_error_messages = {"naive": "give a time zone (e.g. 2026-01-01T02:00:00Z)."}

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = None
            if len(value) <= 64 and value.isprintable():
                try:
                    parsed = parse_datetime(value)
                except ValueError:  # well-formed but impossible: month 13, day 45
                    parsed = None
            if parsed is None:
                self.fail("invalid", format="ISO-8601 with a time zone, e.g. 2026-01-01T02:00Z")
            if parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class RunRequestSerializer(serializers.Serializer):
    at = AwareDateTimeField(
        required=False,
        help_text=(
            "Evaluate at this time instead of now (ISO-8601 with a zone). At most "
            "HMS_CLOCK_SKEW_SECONDS ahead (then it means now); older than that, the run is a "
            "backfill: recorded, never 'latest', never changing an escalation."
        ),
    )

    def validate_at(self, value):
        try:
            self.dated = dated_run(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["at"]) from None
        return value

    @property
    def run_time(self) -> tuple:
        """``(evaluate at or None for now, is a backfill)``."""
        return getattr(self, "dated", (None, False))


MAX_BULK_RUN = 500  # well under DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) for a form body


class BulkRunRequestSerializer(serializers.Serializer):
    baselines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MAX_BULK_RUN,
        help_text="ids of the baselines to run; each run is queued to the worker",
    )


class QueuedRunsSerializer(serializers.Serializer):
    queued = serializers.ListField(child=serializers.IntegerField(), help_text="baseline ids")
