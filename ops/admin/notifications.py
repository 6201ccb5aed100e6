"""Channels (editable) and the notification outbox (read-only, with "retry")."""

from django import forms
from django.contrib import admin, messages

from ops import outbox
from ops.admin.filters import ScopedRelatedFilter
from ops.admin.readonly import ReadOnlyInline, ReadOnlyMixin
from ops.channels import registry, services
from ops.models import Channel, Notification, NotificationAttempt


class ChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=registry.choices)

    class Meta:
        model = Channel
        fields = ("name", "kind", "target", "enabled", "secret_env", "description")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "target", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "target")

    def save_model(self, request, obj, form, change):
        services.save_channel(obj, actor=request.user)

    def delete_model(self, request, obj):
        services.delete_channel(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for channel in queryset:
            services.delete_channel(channel, actor=request.user)


class NotificationAttemptInline(ReadOnlyInline):
    model = NotificationAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "finished_at", "outcome", "maybe_delivered", "error", "detail")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    deletable = False
    list_display = ("id", "channel", "subject", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", ("channel", ScopedRelatedFilter), "source_topic")
    date_hierarchy = "created_at"
    list_select_related = ("channel",)
    search_fields = ("dedupe_key", "subject", "message", "source_id")
    readonly_fields = [field.name for field in Notification._meta.fields]
    inlines = [NotificationAttemptInline]
    actions = ["retry_failed"]

    def has_retry_permission(self, request):
        return request.user.has_perm("ops.change_notification")

    @admin.action(description="Retry the selected failed notifications", permissions=["retry"])
    def retry_failed(self, request, queryset):
        retried = sum(
            outbox.retry(notification, actor=request.user)
            for notification in queryset.filter(status=Notification.Status.FAILED)
        )
        skipped = queryset.count() - retried
        self.message_user(request, f"{retried} notification(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: only failed notifications can be retried.",
                messages.WARNING,
            )
