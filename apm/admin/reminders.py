"""The escalation admin's "Acknowledge with a comment / Snooze" page (``<id>/follow-up/``).

Mixed into ``EscalationAdmin``; the page calls the same services as the API
(``escalations.acknowledge``, ``reminders.snooze``), so both are audited alike.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apm import escalations, reminders
from apm.models import Escalation


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
