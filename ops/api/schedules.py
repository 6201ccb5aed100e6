"""``/api/v1/schedules/``: on-call rotations, and ``schedules/{id}/on-call/?at=`` (who is on call).

Any signed-in user reads; writing needs the model permissions (admins). A PUT
or PATCH that carries ``participants`` (usernames, in rotation order) or
``overrides`` replaces that list; every change is an ``ops.schedule`` audit entry.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ops import clock
from ops.api.channels import InUse, clean_or_400
from ops.api.permissions import ServicePermissions
from ops.channels import ChannelError
from ops.channels.oncall import contact_of
from ops.models import Schedule, ScheduleOverride
from ops.oncall import services


def _users():
    return get_user_model().objects.filter(is_active=True)


class OverrideSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=_users())

    class Meta:
        model = ScheduleOverride
        fields = ["id", "user", "starts_at", "ends_at", "note"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        try:
            ScheduleOverride(**attrs).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        return attrs


@extend_schema_field(
    {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", "example": "07:00"}
)
class WallClockTimeField(serializers.TimeField):
    """A local wall-clock time (``07:00``), not an RFC 3339 time: it has no offset."""


class ParticipantsField(serializers.ListField):
    """Usernames in rotation order (read from the prefetched participant rows)."""

    def get_attribute(self, instance):
        return [p.user for p in instance.participants.all()]


class ScheduleSerializer(serializers.ModelSerializer):
    participants = ParticipantsField(
        child=serializers.SlugRelatedField(slug_field="username", queryset=_users()),
        required=False,
        help_text="usernames in rotation order",
    )
    overrides = OverrideSerializer(many=True, required=False)
    handoff = WallClockTimeField(required=False, help_text="Local time a shift starts.")

    class Meta:
        model = Schedule
        fields = ["id", "name", "timezone", "participants", "shift_hours", "handoff",
                  "starts_on", "overrides", "description", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate(self, attrs):
        instance = self.instance or Schedule()
        for name, value in attrs.items():
            if name not in {"participants", "overrides"}:
                setattr(instance, name, value)
        clean_or_400(instance)
        participants = attrs.get("participants")
        if participants is not None and len({u.pk for u in participants}) != len(participants):
            raise serializers.ValidationError({"participants": ["A person appears once."]})
        self._cleaned = instance
        return attrs

    def _save(self, validated_data):
        actor = self.context["request"].user
        with transaction.atomic():
            schedule = services.save_schedule(
                self._cleaned, participants=validated_data.get("participants"), actor=actor
            )
            overrides = validated_data.get("overrides")
            if overrides is not None:
                for old in schedule.overrides.all():
                    services.delete_override(old, actor=actor)
                for fields in overrides:
                    services.save_override(
                        ScheduleOverride(schedule=schedule, **fields), actor=actor
                    )
        return schedule

    create = _save

    def update(self, instance, validated_data):
        return self._save(validated_data)


class ScheduleViewSet(viewsets.ModelViewSet):
    """On-call rotations: ordered participants, shift length, handoff time, overrides."""

    serializer_class = ScheduleSerializer
    permission_classes = [ServicePermissions]
    filterset_fields = ["name", "timezone"]

    def get_queryset(self):
        return Schedule.objects.prefetch_related("participants__user", "overrides__user").order_by(
            "name"
        )

    def perform_destroy(self, instance):
        try:
            services.delete_schedule(instance, actor=self.request.user)
        except DjangoValidationError as exc:
            raise InUse(" ".join(exc.messages)) from None

    @extend_schema(
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="ISO-8601; default now")
        ],
        responses=inline_serializer(
            "OnCall",
            {
                "schedule": serializers.CharField(),
                "at": serializers.DateTimeField(),
                "user": serializers.CharField(allow_null=True),
                "source": serializers.CharField(allow_null=True),
                "since": serializers.DateTimeField(allow_null=True),
                "until": serializers.DateTimeField(allow_null=True),
                "via": serializers.CharField(allow_null=True),
            },
        ),
    )
    @action(detail=True, methods=["get"], url_path="on-call")
    def on_call(self, request, pk=None):
        """Who is on call at ``at`` (rotation or override), and how a page reaches them."""
        schedule = self.get_object()
        at = clock.now()
        raw = request.query_params.get("at")
        if raw:
            field = serializers.DateTimeField()
            try:
                at = field.to_internal_value(raw)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"at": exc.detail}) from None
        shift = schedule.on_call(at)
        answer = {"schedule": schedule.name, "at": at, "user": None, "source": None,
                  "since": None, "until": None, "via": None}  # fmt: skip
        if shift is not None:
            try:
                via = contact_of(shift["user"])[0].kind
            except ChannelError:  # no contact: a page would fail; say so
                via = None
            answer.update(
                user=shift["user"].get_username(), source=shift["source"],
                since=shift["since"], until=shift["until"], via=via,
            )  # fmt: skip
        return Response(_json(answer))


def _json(answer: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in answer.items()}
