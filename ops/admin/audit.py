"""The audit vault in the admin: read-only, plus a "verify chain" page."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from ops import audit
from ops.admin.readonly import ReadOnlyMixin
from ops.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    deletable = False
    list_display = ("id", "at", "topic", "actor", "short_hash")
    list_filter = ("topic",)
    search_fields = ("topic", "actor", "hash")
    date_hierarchy = "at"
    readonly_fields = ("id", "topic", "at", "actor", "payload", "prev_hash", "hash")
    fields = readonly_fields
    actions = None
    change_list_template = "admin/ops/auditentry/change_list.html"

    @admin.display(description="hash")
    def short_hash(self, entry):
        return entry.hash[:12]

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_view)
        return [path("verify/", verify, name="ops_auditentry_verify"), *super().get_urls()]

    def verify_view(self, request):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Verify the audit chain",
            "result": audit.verify(),
        }
        return TemplateResponse(request, "admin/ops/auditentry/verify.html", context)
