"""Admin for escalations (acknowledge/resolve, their notifications), routes, policies, tickets.

Scoped like the rest of the APM admin (``apm.models.access``).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apm import config_audit, escalations, policies, tickets
from apm.admin.base import ScopedAdmin
from apm.admin.reminders import FollowUpAdminMixin
from apm.models import Baseline, Escalation, EscalationPolicy, EscalationRoute, Ticket
from apm.models.access import may_write
from ops.admin.filters import ScopedRelatedFilter
from ops.models import Notification

LEVEL_COLOURS = {"info": "#0969da", "warning": "#bc4c00", "critical": "#cf222e"}


def level_badge(level):
    return format_html(
        '<strong style="color:#fff;background:{};padding:1px 6px;border-radius:3px">{}</strong>',
        LEVEL_COLOURS[level],
        level,
    )


def _age(since) -> str:
    seconds = int((timezone.now() - since).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"


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


@admin.register(Escalation)
class EscalationAdmin(FollowUpAdminMixin, ReadOnlyScopedAdmin):
    list_display = ("id", "baseline", "program", "coloured_level", "status", "age", "opened_at",
                    "breach_count", "source")  # fmt: skip
    list_filter = (
        "status",
        "level",
        "source",
        "auto_resolved",
        ("baseline__program", ScopedRelatedFilter),
    )
    search_fields = ("message", "baseline__name", "baseline__program__code")
    list_select_related = ("baseline__program",)
    date_hierarchy = "opened_at"
    actions = ["acknowledge", "resolve"]
    fields = ("baseline", "coloured_level", "status", "message", "source", "opened_at",
              "red_since", "age", "breach_count", "last_red_at", "deviation", "acknowledged_by",
              "acknowledged_at", "resolved_by", "resolved_at", "auto_resolved", "note",
              "snoozed_until", "follow_up", "notifications", "ticket_links")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="program", ordering="baseline__program__code")
    def program(self, obj):
        return obj.baseline.program.code

    @admin.display(description="level", ordering="level")
    def coloured_level(self, obj):
        return level_badge(obj.level)

    @admin.display(description="red for")
    def age(self, obj):
        return _age(obj.red_since) if obj.is_open else "—"

    @admin.display(description="notifications")
    def notifications(self, obj):
        rows = Notification.objects.filter(
            source_topic=escalations.TOPIC, source_id=str(obj.pk)
        ).select_related("channel")
        if not rows:
            return "none (no route matched)"
        return format_html(
            "<table><tr><th>#</th><th>channel</th><th>status</th><th>attempts</th>"
            "<th>sent</th><th>last error</th></tr>{}</table>",
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
                "<td>{}</td></tr>",
                (
                    (
                        reverse("admin:ops_notification_change", args=[n.pk]),
                        n.pk,
                        n.channel.name,
                        n.status,
                        n.attempts,
                        n.sent_at or "—",
                        n.last_error,
                    )
                    for n in rows
                ),
            ),
        )

    @admin.display(description="tickets")
    def ticket_links(self, obj):
        rows = obj.tickets.all()
        if not rows:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">#{} {} ({})</a>',
            (
                (reverse("admin:apm_ticket_change", args=[t.pk]), t.pk, t.kind, t.status)
                for t in rows
            ),
        )

    @admin.action(description="Acknowledge (someone is on it)", permissions=["act"])
    def acknowledge(self, request, queryset):
        note = f"Acknowledged in the admin by {request.user.get_username()}."
        self._act(
            request,
            queryset.filter(status=Escalation.Status.OPEN),
            lambda e: escalations.acknowledge(e, actor=request.user, note=note),
            "acknowledged",
        )

    @admin.action(description="Resolve (fixed)", permissions=["act"])
    def resolve(self, request, queryset):
        note = f"Resolved in the admin by {request.user.get_username()}."
        self._act(
            request,
            queryset,
            lambda e: escalations.resolve(e, actor=request.user, note=note),
            "resolved",
        )


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
class EscalationRouteAdmin(admin.ModelAdmin):
    """Routing is data: which channel hears which program's escalations from which level."""

    list_display = ("__str__", "program", "min_level", "channel", "active", "remind_every")
    list_filter = ("min_level", "active", ("channel", ScopedRelatedFilter))
    list_select_related = ("program", "channel")

    def save_model(self, request, obj, form, change):
        config_audit.save(obj, actor=request.user)

    def delete_model(self, request, obj):
        config_audit.delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            config_audit.delete(obj, actor=request.user)


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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "baseline":
            kwargs["queryset"] = Baseline.objects.editable_by(request.user).select_related(
                "program"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
