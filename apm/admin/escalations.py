"""Admin for escalations: acknowledge/resolve, snooze with a comment, their notifications.

Scoped like the rest of the APM admin (``apm.models.access``).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apm import escalations, reminders
from apm.admin.base import ReadOnlyScopedAdmin
from apm.models import Escalation
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


class FollowUpForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=reminders.NOTE_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    until = forms.DateTimeField(
        required=False,
        label="Snooze until",
        help_text="No reminders until then (YYYY-MM-DD HH:MM, server time zone UTC).",
    )


class FollowUpAdminMixin:
    """Adds the follow-up page and a link to it on the escalation's change page."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.follow_up_view)
        return [
            path("<int:pk>/follow-up/", view, name="apm_escalation_follow_up"),
            *super().get_urls(),
        ]

    def follow_up(self, obj):
        if obj is None or obj.pk is None or not obj.is_open:
            return "—"
        return format_html(
            '<a class="button" href="{}">Acknowledge with a comment / snooze</a>',
            reverse("admin:apm_escalation_follow_up", args=[obj.pk]),
        )

    follow_up.short_description = "follow up"

    def follow_up_view(self, request, pk):
        escalation = (
            Escalation.objects.editable_by(request.user)
            .select_related("baseline__program")
            .filter(pk=pk)
            .first()
        )
        if escalation is None:
            raise Http404("No escalation of your programs with that id.")
        form = FollowUpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            note = form.cleaned_data["note"]
            try:
                if "_snooze" in request.POST:
                    reminders.snooze(
                        escalation, actor=request.user, until=form.cleaned_data["until"], note=note
                    )
                    done = "snoozed"
                else:
                    escalations.acknowledge(escalation, actor=request.user, note=note)
                    done = "acknowledged"
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except escalations.NotOpen as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Escalation #{pk} {done}.", messages.SUCCESS)
                return redirect("admin:apm_escalation_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Follow up escalation #{escalation.pk}",
            "escalation": escalation,
            "form": form,
        }
        return TemplateResponse(request, "admin/apm/escalation/follow_up.html", context)


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
