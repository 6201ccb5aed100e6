"""The APM admin's base class: every page scoped like the API (``apm.models.access``).

Reads follow ``visible_to``; changes need the program's owner group (or
superuser) and are saved through ``apm.config_audit`` (audited).
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from apm import config_audit, escalations
from apm.models import Baseline, Deviation, Program
from apm.models.access import may_write, reads_everything


class AuditedSaveMixin:
    """Saves and deletes go through ``apm.config_audit`` (one audit entry each)."""

    def save_model(self, request, obj, form, change):
        config_audit.save(obj, actor=request.user)

    def delete_model(self, request, obj):
        config_audit.delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            config_audit.delete(obj, actor=request.user)


class ScopedAdmin(AuditedSaveMixin, admin.ModelAdmin):
    """Reads follow ``visible_to``; changes need the program's owner group (or superuser)."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A form offers only the programs and baselines the user may edit.
        if db_field.name == "program":
            kwargs["queryset"] = Program.objects.editable_by(request.user)
        elif db_field.name == "baseline":
            kwargs["queryset"] = Baseline.objects.editable_by(request.user).select_related(
                "program"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @staticmethod
    def program_of(obj):
        return obj.program if isinstance(obj, Baseline) else obj

    def has_module_permission(self, request):
        return reads_everything(request.user) or may_write(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return may_write(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return may_write(request.user)
        return self.program_of(obj).editable_by(request.user)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class ReadOnlyScopedAdmin(ScopedAdmin):
    """Rows changed only through services (actions); acting needs the program's owner group."""

    @staticmethod
    def program_of(obj):
        return obj.baseline.program

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        return may_write(request.user)

    def _act(self, request, queryset, act, verb):
        done = 0
        for obj in queryset.editable_by(request.user):
            try:
                act(obj)
                done += 1
            except escalations.NotOpen:
                continue
        self.message_user(request, f"{done} {verb}.", messages.SUCCESS)
        skipped = queryset.count() - done
        if skipped:
            self.message_user(
                request, f"{skipped} skipped (not your program, or not open).", messages.WARNING
            )


STATUS_COLOURS = {
    Deviation.Status.OK: "#1a7f37",
    Deviation.Status.BREACH: "#cf222e",
    Deviation.Status.NO_DATA: "#bc4c00",
    Deviation.Status.ERROR: "#8250df",
    Deviation.Status.INSUFFICIENT_DATA: "#6e7781",  # grey: never red or green
}


def status_badge(status, pct=None):
    if not status:
        return "—"
    label = Deviation.Status(status).label
    if pct is not None:
        label = f"{label} ({pct:+.1f} %)"
    return format_html(
        '<strong style="color:#fff;background:{};padding:1px 6px;border-radius:3px">{}</strong>',
        STATUS_COLOURS[status],
        label,
    )
