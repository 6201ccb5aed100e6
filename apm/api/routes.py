"""``/api/v1/routes/``: which channel hears of which program's escalations, and how often.

Program staff manage the routes of their own programs (other programs' routes
are 404, writing one is 403); a route for every program (``program`` null) is
an admin's. Validation is the admin's (``full_clean``); every change is an
``apm.config`` audit entry.
"""

import re
from datetime import timedelta

import django_filters
from django.db.models import Q
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from apm import config_audit
from apm.api.permissions import ProgramAccess
from apm.api.serializers import ModelCleanSerializer
from apm.models import EscalationRoute, Program
from apm.models.access import may_write, reads_everything
from ops.filtering import IdFilter
from ops.models import Channel

SHORT_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$")
UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}


class ShortDurationField(serializers.DurationField):
    """A duration as ``30m``, ``6h``, ``1d``, or Django's ``[DD] [HH:[MM:]]ss`` / ISO 8601."""

    def to_internal_value(self, value):
        match = SHORT_DURATION.match(str(value))
        if match:
            return timedelta(**{UNITS[match[2]]: int(match[1])})
        return super().to_internal_value(value)


class RouteFilterSet(django_filters.FilterSet):
    program = IdFilter(field_name="program_id")
    channel = django_filters.CharFilter(field_name="channel__name", help_text="channel name")
    min_level = django_filters.ChoiceFilter(
        choices=EscalationRoute._meta.get_field("min_level").choices
    )
    active = django_filters.BooleanFilter()

    class Meta:
        model = EscalationRoute
        fields = ["program", "channel", "min_level", "active"]


class RouteSerializer(ModelCleanSerializer):
    program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.all(), allow_null=True, required=False,
        help_text="null: every program (admins only); another program's staff get 403",
    )  # fmt: skip
    channel = serializers.SlugRelatedField(slug_field="name", queryset=Channel.objects.all())
    remind_every = ShortDurationField(
        required=False, allow_null=True, help_text="e.g. 1d, 6h, 30m; null: no reminders"
    )

    class Meta:
        model = EscalationRoute
        fields = ["id", "program", "min_level", "channel", "active", "remind_every",
                  "max_reminders", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def authorize(self, instance):
        if not may_edit(self.context["request"].user, instance):
            raise PermissionDenied(
                "Only an admin may route every program; staff route their own programs."
            )


def may_edit(user, route) -> bool:
    if route.program_id is None:
        return user.is_superuser
    return Program.objects.editable_by(user).filter(pk=route.program_id).exists()


class RouteAccess(ProgramAccess):
    message = "Only staff of the program's owner group (an admin for every-program routes)."
    may_edit = staticmethod(may_edit)


class RouteViewSet(viewsets.ModelViewSet):
    """Escalation routes: ``program`` (null = all) at ``min_level`` or above → ``channel``."""

    serializer_class = RouteSerializer
    permission_classes = [RouteAccess]
    filterset_class = RouteFilterSet

    def get_queryset(self):
        user = self.request.user
        routes = EscalationRoute.objects.select_related("program", "channel").order_by("pk")
        if reads_everything(user):
            return routes
        if may_write(user):
            return routes.filter(
                Q(program__isnull=True) | Q(program__owner_group__in=user.groups.all())
            )
        return routes.none()

    def perform_destroy(self, instance):
        config_audit.delete(instance, actor=self.request.user)
