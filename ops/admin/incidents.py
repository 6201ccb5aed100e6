"""Incidents: read-only history with their action runs inline, and a "resolve" action."""

from django.contrib import admin, messages

from ops.admin.filters import ScopedRelatedFilter
from ops.admin.readonly import ReadOnlyInline, ReadOnlyMixin
from ops.models import ActionRun, Incident
from ops.playbook import incidents


class ActionRunInline(ReadOnlyInline):
    model = ActionRun
    extra = 0
    can_delete = False
    fields = ActionRun.TIMELINE_FIELDS
    readonly_fields = fields
    ordering = ("step", "position")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    deletable = False
    list_display = ("id", "service", "condition", "state", "opened_at", "resolved_at")
    list_filter = ("state", ("service", ScopedRelatedFilter))
    search_fields = ("service__id", "condition")
    date_hierarchy = "opened_at"
    readonly_fields = [field.name for field in Incident._meta.fields]
    inlines = [ActionRunInline]
    actions = ["resolve"]

    def has_resolve_permission(self, request):
        return request.user.has_perm("ops.change_incident")

    @admin.action(description="Resolve the selected open incidents", permissions=["resolve"])
    def resolve(self, request, queryset):
        resolved = sum(
            incidents.resolve_incident(incident, by=request.user.get_username())
            for incident in queryset.filter(state=Incident.State.OPEN)
        )
        self.message_user(request, f"{resolved} incident(s) resolved.", messages.SUCCESS)
        skipped = queryset.count() - resolved
        if skipped:
            self.message_user(request, f"{skipped} skipped: already resolved.", messages.WARNING)
