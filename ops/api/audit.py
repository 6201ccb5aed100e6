"""``/api/v1/audit/``: read the vault and verify its chain. No write methods exist."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from ops import audit
from ops.audit.filtersets import AuditEntryFilterSet
from ops.models import AuditEntry


class CanViewModel(BasePermission):
    """Superusers, and users holding the model's ``view_`` permission (staff, viewers)."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        opts = view.queryset.model._meta
        return user.is_superuser or user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "topic", "at", "actor", "payload", "hash", "prev_hash"]
        read_only_fields = fields


VerifySerializer = inline_serializer(
    "AuditVerify",
    {
        "ok": serializers.BooleanField(),
        "entries": serializers.IntegerField(help_text="entries checked"),
        "first_broken": inline_serializer(
            "AuditBrokenEntry",
            {
                "id": serializers.IntegerField(allow_null=True),
                "reason": serializers.CharField(),
                "topic": serializers.CharField(required=False),
                "at": serializers.DateTimeField(required=False),
                "actor": serializers.CharField(required=False),
            },
            required=False,
        ),
    },
)


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only audit vault, oldest first."""

    queryset = AuditEntry.objects.order_by("id")
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    permission_classes = [CanViewModel]

    @extend_schema(responses=VerifySerializer, filters=False)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def verify(self, request):
        """Recompute the whole hash chain; the first broken entry when it does not hold."""
        return Response(audit.verify().as_dict())
