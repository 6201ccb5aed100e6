"""APM admin: programs (scoped to their owner groups) and the deviations ledger (read-only)."""

import json

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from apm.admin.base import ReadOnlyScopedAdmin, ScopedAdmin, status_badge
from apm.models import Deviation, Program
from ops.admin.filters import ScopedRelatedFilter


@admin.register(Program)
class ProgramAdmin(ScopedAdmin):
    list_display = ("code", "name", "authority", "owner_group", "public", "baseline_count")
    list_filter = ("public", ("owner_group", ScopedRelatedFilter))
    search_fields = ("code", "name", "authority")
    list_select_related = ("owner_group",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(baseline_count=Count("baselines"))

    @admin.display(description="baselines", ordering="baseline_count")
    def baseline_count(self, obj):
        return obj.baseline_count

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner_group" and not request.user.is_superuser:
            # Staff may only hand a program to one of their own groups (or lose it).
            kwargs["queryset"] = Group.objects.filter(user=request.user)
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Deviation)
class DeviationAdmin(ReadOnlyScopedAdmin):
    list_display = ("evaluated_at", "baseline", "program", "coloured_status", "actual",
                    "deviation_pct", "sample_count", "in_maintenance", "trigger")  # fmt: skip
    list_filter = ("status", "trigger", "in_maintenance",
                   ("baseline__program", ScopedRelatedFilter))  # fmt: skip
    search_fields = ("baseline__name", "baseline__program__code")
    list_select_related = ("baseline__program",)
    date_hierarchy = "evaluated_at"
    fields = ("baseline", "evaluated_at", "coloured_status", "actual", "deviation_pct", "trigger",
              "slot", "recorded_at", "sample_count", "newest_sample_at", "completeness", "source",
              "in_maintenance", "evidence_pretty")  # fmt: skip
    readonly_fields = fields

    def view_on_site(self, obj):
        return reverse("apm_pages:baseline", args=[obj.baseline_id])

    # The ledger is evidence: read-only, but program staff may delete a run of their program.
    def has_delete_permission(self, request, obj=None):
        return obj is not None and self.program_of(obj).editable_by(request.user)

    @admin.display(description="program", ordering="baseline__program__code")
    def program(self, obj):
        return obj.baseline.program.code

    @admin.display(description="status", ordering="status")
    def coloured_status(self, obj):
        return status_badge(obj.status)

    @admin.display(description="evidence")
    def evidence_pretty(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.evidence, indent=2, ensure_ascii=False, default=str)
        )
