"""``/api/v1/notifications/``: the outbox, read-only, with every attempt."""

from django.db.models import Prefetch
from rest_framework import serializers, viewsets

from ops.api.audit import CanViewModel
from ops.models import Notification, NotificationAttempt
from ops.outbox.filtersets import NotificationFilterSet


class NotificationAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationAttempt
        fields = ["started_at", "finished_at", "outcome", "maybe_delivered", "error", "detail"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="name", read_only=True)
    attempt_log = NotificationAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "subject",
            "message",
            "payload",
            "dedupe_key",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
            "created_at",
            "source_topic",
            "source_id",
            "attempt_log",
        ]
        read_only_fields = fields


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Notifications and their delivery attempts, newest first."""

    queryset = Notification.objects.select_related("channel").prefetch_related(
        Prefetch("attempt_log", queryset=NotificationAttempt.objects.order_by("started_at", "id"))
    )
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    permission_classes = [CanViewModel]
