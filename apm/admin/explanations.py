"""Explanations in the admin: staff of the program write them; each save is a version."""

from django import forms
from django.contrib import admin

from apm import explanations
from apm.admin.base import ScopedAdmin
from apm.models import Explanation, ExplanationVersion
from apm.review.quarters import Quarter, QuarterError


class ExplanationForm(forms.ModelForm):
    class Meta:
        model = Explanation
        fields = ["baseline", "period", "why", "plan", "due_date"]

    def clean_period(self):
        try:
            return str(Quarter.parse(self.cleaned_data["period"]))
        except QuarterError as exc:
            raise forms.ValidationError(str(exc)) from None


class VersionInline(admin.TabularInline):
    model = ExplanationVersion
    extra = 0
    can_delete = False
    fields = readonly_fields = ("version", "why", "plan", "due_date", "author", "saved_at")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Explanation)
class ExplanationAdmin(ScopedAdmin):
    form = ExplanationForm
    list_display = ("baseline", "period", "due_date", "author", "version", "updated_at")
    list_select_related = ("baseline__program", "author")
    search_fields = ("baseline__name", "why", "plan")
    readonly_fields = ("author", "version")
    inlines = [VersionInline]

    @staticmethod
    def program_of(obj):
        return obj.baseline.program

    def save_model(self, request, obj, form, change):
        explanations.save(obj, actor=request.user)

    def delete_model(self, request, obj):
        explanations.delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            explanations.delete(obj, actor=request.user)
