"""On-call schedules (participants in order, overrides) and people's contact profiles."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from ops import clock
from ops.models import ContactProfile, Schedule, ScheduleOverride, ScheduleParticipant
from ops.oncall import services


class ParticipantInline(admin.TabularInline):
    model = ScheduleParticipant
    extra = 1
    fields = ("position", "user")
    ordering = ("position",)


class OverrideInline(admin.TabularInline):
    model = ScheduleOverride
    extra = 0
    fields = ("user", "starts_at", "ends_at", "note")


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "shift_hours", "handoff", "on_call_now")
    search_fields = ("name", "description")
    fields = ("name", "timezone", "shift_hours", "handoff", "starts_on", "description")
    inlines = [ParticipantInline, OverrideInline]

    @admin.display(description="on call now")
    def on_call_now(self, obj):
        shift = obj.on_call(clock.now())
        if shift is None:
            return "nobody"
        until = timezone.localtime(shift["until"]).strftime("%Y-%m-%d %H:%M")
        return f"{shift['user'].get_username()} ({shift['source']}, until {until})"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # audit the schedule as it now stands, participants and all
        services.save_schedule(form.instance, actor=request.user)

    def delete_model(self, request, obj):
        try:
            services.delete_schedule(obj, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), level="error")

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            self.delete_model(request, schedule)


@admin.register(ContactProfile)
class ContactProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "slack_user_id", "email", "updated_at")
    search_fields = ("user__username", "slack_user_id", "email")
    fields = ("user", "slack_user_id", "email")

    def save_model(self, request, obj, form, change):
        services.save_contact(obj, actor=request.user)
