"""``/api/v1/channels/``: notification channels, managed by admins (model permissions).

Validation is the admin's (``Channel.full_clean``, the kind's ``validate``);
saves and deletes go through ``ops.channels.services`` (audited as
``ops.channel``). Secrets never pass through here: ``secret_env`` names the
environment variable that holds one.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.exceptions import APIException

from ops.channels import registry, services
from ops.models import Channel


class InUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This row is still referred to."
    default_code = "conflict"


class ModelPermissionsWithView(permissions.DjangoModelPermissions):
    """Reads need ``view_*``, writes ``add_/change_/delete_*`` (superusers have all)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def clean_or_400(instance) -> None:
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None


class ChannelFilterSet(django_filters.FilterSet):
    kind = django_filters.CharFilter()
    enabled = django_filters.BooleanFilter()
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")

    class Meta:
        model = Channel
        fields = ["kind", "enabled", "name"]


class ChannelSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=[])
    secret_env = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text="NAME of the environment variable holding the secret (webhook HMAC key, "
        "Teams/Mattermost URL); the value never passes through the API.",
    )  # fmt: skip

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "target", "enabled", "secret_env", "description",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        fields["kind"].choices = registry.choices()  # apps register kinds at start-up
        return fields

    def validate(self, attrs):
        instance = self.instance or Channel()
        for name, value in attrs.items():
            setattr(instance, name, value)
        clean_or_400(instance)
        self._cleaned = instance
        return attrs

    def create(self, validated_data):
        return services.save_channel(self._cleaned, actor=self.context["request"].user)

    def update(self, instance, validated_data):
        return services.save_channel(self._cleaned, actor=self.context["request"].user)


class ChannelViewSet(viewsets.ModelViewSet):
    """Where notifications go. Admins create, change and delete them; routes point at them."""

    queryset = Channel.objects.order_by("name")
    serializer_class = ChannelSerializer
    permission_classes = [ModelPermissionsWithView]
    filterset_class = ChannelFilterSet

    def perform_destroy(self, instance):
        try:
            services.delete_channel(instance, actor=self.request.user)
        except ProtectedError:
            raise InUse(
                "Routes or notifications refer to this channel: disable it instead."
            ) from None
