"""Maintenance windows in the admin: scoped as the API, saved through ``apm.maintenance``."""

from django.contrib import admin

from apm import maintenance
from apm.admin.base import ScopedAdmin
from apm.maintenance import may_edit
from apm.models import MaintenanceWindow


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ScopedAdmin):
    list_display = ("scope", "starts_at", "ends_at", "recurrence", "reason", "created_by")
    list_filter = ("recurrence",)
    search_fields = ("reason", "service__id", "baseline__name", "program__code")
    list_select_related = ("program", "baseline", "service", "created_by")
    fields = ("program", "baseline", "service", "starts_at", "ends_at", "recurrence", "reason")
    date_hierarchy = "starts_at"

    @admin.display(description="scope")
    def scope(self, obj):
        return obj.scope_label

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_add_permission(request)
        return may_edit(request.user, obj)

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in maintenance.FIELDS}
        if change:
            current = MaintenanceWindow.objects.get(pk=obj.pk)
            maintenance.update_window(current, actor=request.user, **fields)
        else:
            obj.pk = maintenance.create_window(actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        maintenance.delete_window(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if may_edit(request.user, obj):
                maintenance.delete_window(obj, actor=request.user)
