"""``/api/v1/maintenance-windows/``: planned spans when a program, baseline or service is
measured but never escalated, notified or acted on (docs/VERDICTS.md).

Program staff see and manage the windows of their own programs and their baselines
(others' are 404, writing one is 403); a window on an OPS service takes a superuser or
``apm.silence_service``. Every change is one ``apm.maintenance`` service call, audited.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from apm import maintenance
from apm.api.permissions import ProgramAccess
from apm.api.serializers import AwareDateTimeField
from apm.maintenance import may_edit
from apm.models import Baseline, MaintenanceWindow, Program
from ops.filtering import IdFilter
from ops.models import Service


class MaintenanceWindowFilterSet(django_filters.FilterSet):
    program = IdFilter(field_name="program_id")
    baseline = IdFilter(field_name="baseline_id")
    service = django_filters.CharFilter(field_name="service_id")
    recurrence = django_filters.ChoiceFilter(choices=MaintenanceWindow.Recurrence.choices)

    class Meta:
        model = MaintenanceWindow
        fields = ["program", "baseline", "service", "recurrence"]


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.all(), allow_null=True, required=False
    )
    baseline = serializers.PrimaryKeyRelatedField(
        queryset=Baseline.objects.all(), allow_null=True, required=False
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), allow_null=True, required=False
    )
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "program", "baseline", "service", "starts_at", "ends_at", "reason",
                  "recurrence", "created_by", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:  # a program or baseline you cannot see does not exist
            fields["program"].queryset = Program.objects.visible_to(request.user)
            fields["baseline"].queryset = Baseline.objects.visible_to(request.user)
        return fields

    def validate(self, attrs):
        window = self.instance or MaintenanceWindow()
        candidate = MaintenanceWindow(
            **{f: attrs.get(f, getattr(window, f)) for f in maintenance.FIELDS}
        )
        scopes = (candidate.program_id, candidate.baseline_id, candidate.service_id)
        if sum(scope is not None for scope in scopes) != 1:
            raise serializers.ValidationError({"program": [maintenance.ONE_SCOPE]})
        if not may_edit(self.context["request"].user, candidate):
            raise PermissionDenied(
                "Only staff of the program's owner group may silence it; an OPS service "
                "takes the 'apm.silence_service' permission."
            )
        return attrs

    def _call(self, action, *args, **fields):
        try:
            return action(*args, actor=self.context["request"].user, **fields)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None

    def create(self, validated_data):
        return self._call(maintenance.create_window, **validated_data)

    def update(self, instance, validated_data):
        return self._call(maintenance.update_window, instance, **validated_data)


class MaintenanceAccess(ProgramAccess):
    message = "Only staff of the program's owner group (or with apm.silence_service)."
    may_edit = staticmethod(may_edit)


class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    """Maintenance windows: exactly one of ``program``, ``baseline``, ``service``."""

    serializer_class = MaintenanceWindowSerializer
    permission_classes = [MaintenanceAccess]
    filterset_class = MaintenanceWindowFilterSet

    def get_queryset(self):
        return (
            MaintenanceWindow.objects.visible_to(self.request.user)
            .select_related("program", "baseline__program", "created_by")
            .order_by("-starts_at", "-id")
        )

    def perform_destroy(self, instance):
        maintenance.delete_window(instance, actor=self.request.user)
