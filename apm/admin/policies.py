"""Admin for routes, escalation policies (with "Load YAML") and management tickets.

Scoped like the rest of the APM admin (``apm.models.access``).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from apm import policies, tickets
from apm.admin.base import AuditedSaveMixin, ReadOnlyScopedAdmin, ScopedAdmin
from apm.models import Baseline, EscalationPolicy, EscalationRoute, Ticket
from ops.admin.filters import ScopedRelatedFilter


@admin.register(Ticket)
class TicketAdmin(ReadOnlyScopedAdmin):
    list_display = ("id", "kind", "status", "level", "title", "baseline", "escalation",
                    "created_at")  # fmt: skip
    list_filter = ("kind", "status", "level")
    search_fields = ("title", "body", "baseline__name")
    list_select_related = ("baseline", "escalation")
    fields = ("kind", "status", "level", "title", "body", "baseline", "escalation", "policy",
              "dedupe_key", "created_at", "closed_at", "closed_by")  # fmt: skip
    readonly_fields = fields
    actions = ["close"]

    @admin.action(description="Close", permissions=["act"])
    def close(self, request, queryset):
        self._act(
            request,
            queryset.filter(status=Ticket.Status.OPEN),
            lambda t: tickets.close(t, actor=request.user, reason="closed in the admin"),
            "closed",
        )


@admin.register(EscalationRoute)
class EscalationRouteAdmin(AuditedSaveMixin, admin.ModelAdmin):
    """Routing is data: which channel hears which program's escalations from which level."""

    list_display = ("__str__", "program", "min_level", "channel", "active", "remind_every")
    list_filter = ("min_level", "active", ("channel", ScopedRelatedFilter))
    list_select_related = ("program", "channel")


class LoadYamlForm(forms.Form):
    text = forms.CharField(
        label="YAML", required=False, widget=forms.Textarea(attrs={"rows": 12, "cols": 80})
    )
    upload = forms.FileField(label="or a file", required=False)

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is not None:
            if upload.size > policies.MAX_DOCUMENT_BYTES:
                raise forms.ValidationError(
                    f"The file is larger than {policies.MAX_DOCUMENT_BYTES} bytes."
                )
            cleaned["document"] = upload.read()
        elif cleaned.get("text", "").strip():
            cleaned["document"] = cleaned["text"]
        else:
            raise forms.ValidationError("Paste the YAML or choose a file.")
        return cleaned


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ScopedAdmin):
    list_display = ("baseline", "program", "after_days_no_fix", "action", "active", "source")
    list_filter = ("action", "active", ("baseline__program", ScopedRelatedFilter))
    list_select_related = ("baseline__program",)
    fields = ("baseline", "after_days_no_fix", "action", "active", "source")
    readonly_fields = ("source",)
    change_list_template = "admin/apm/escalationpolicy/change_list.html"

    @staticmethod
    def program_of(obj):
        return obj.baseline.program

    @admin.display(description="program", ordering="baseline__program__code")
    def program(self, obj):
        return obj.baseline.program.code

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = "admin"
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view(self.load_yaml_view)
        return [
            path("load-yaml/", view, name="apm_escalationpolicy_load_yaml"),
            *super().get_urls(),
        ]

    def load_yaml_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = LoadYamlForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                loaded = policies.load(
                    form.cleaned_data["document"],
                    source="admin upload",
                    actor=request.user,
                    queryset=Baseline.objects.editable_by(request.user).select_related("program"),
                )
            except policies.PolicyError as exc:
                for field, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(None, f"{field}: {error}")
            else:
                self.message_user(request, f"{len(loaded)} policy(ies) loaded.", messages.SUCCESS)
                return redirect("admin:apm_escalationpolicy_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Load escalation policies from YAML",
            "form": form,
        }
        return TemplateResponse(request, "admin/apm/escalationpolicy/load_yaml.html", context)
