"""Admin for services: register/update by uploading ``.ops.yaml``, rotate ingest keys."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from ops import backtest_admin, services
from ops.admin.readonly import ReadOnlyMixin
from ops.models import SLO, IngestKey, Sensor, Service, ServiceVersion, SLOStateChange
from ops.servicedef import DefinitionError, parse_definition
from ops.servicedef.yamlload import MAX_DOCUMENT_BYTES
from ops.whatif_page import BacktestMixin


class RegisterServiceForm(forms.Form):
    file = forms.FileField(required=False, help_text="an .ops.yaml file")
    text = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 20, "cols": 90}), label="or paste it"
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text")
        if bool(upload) == bool(text):
            raise forms.ValidationError("Upload a file or paste the YAML (one of the two).")
        if upload:
            text = upload.read(MAX_DOCUMENT_BYTES + 1)  # the loader refuses a larger one
        try:
            parse_definition(text)
        except DefinitionError as exc:
            raise forms.ValidationError(
                [f"{field}: {message}" for field, msgs in exc.errors.items() for message in msgs]
            ) from None
        cleaned["document"] = text
        return cleaned


class SensorInline(admin.TabularInline):
    model = Sensor
    extra = 0
    can_delete = False
    fields = ("name", "scrape_url", "last_success_at", "last_error", "last_error_at")
    readonly_fields = fields

    def get_fields(self, request, obj=None):
        # What a scrape target answered is for those who may see sensors (as the API).
        if request.user.has_perm("ops.view_sensor"):
            return self.fields
        return tuple(f for f in self.fields if f != "last_error")

    def has_add_permission(self, request, obj=None):
        return False


class SLOInline(admin.TabularInline):
    model = SLO
    extra = 0
    can_delete = False
    fields = ("target", "percentile", "threshold", "window_seconds", "state", "value", "since")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class IngestKeyInline(admin.TabularInline):
    model = IngestKey
    extra = 0
    can_delete = False
    fields = ("hint", "created_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ServiceVersionInline(admin.TabularInline):
    model = ServiceVersion
    extra = 0
    can_delete = False
    fields = ("version", "registered_at", "replaced_at", "source")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Service)
class ServiceAdmin(BacktestMixin, admin.ModelAdmin):
    list_display = ("id", "owner", "slo_state", "version", "updated_at")
    list_filter = ("owner", "slos__state")
    search_fields = ("id", "owner")
    readonly_fields = (
        "id",
        "owner",
        "description",
        "version",
        "backtest_link",
        "source",
        "document",
    )
    inlines = [SLOInline, SensorInline, IngestKeyInline, ServiceVersionInline]
    actions = ["rotate_ingest_key"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("slos")

    def view_on_site(self, obj):
        """The war room, filtered to the service's owner, at the service's tile."""
        query = urlencode({"owner": obj.owner})
        return f"{reverse('ops_pages:war-room')}?{query}#tile-{obj.pk}"

    @admin.display(description="SLO state")
    def slo_state(self, service):
        slos = list(service.slos.all())
        return slos[0].get_state_display() if slos else "—"

    backtest_view = staticmethod(backtest_admin.view)
    backtest_url_name, backtest_pk = "ops_service_backtest", "<path:pk>"
    backtest_blurb = "replay the SLO with other settings"

    def get_urls(self):
        view = self.admin_site.admin_view(self.register_view)
        return [
            path("register/", view, name="ops_service_register"),
            *self.backtest_urls(),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:ops_service_register"))

    def register_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = RegisterServiceForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                registration = services.register_service(
                    form.cleaned_data["document"], actor=request.user
                )
            except DefinitionError as exc:  # changed between clean() and now: show it
                form.add_error(None, str(exc))
            else:
                service = registration.service
                if registration.created:
                    messages.warning(
                        request,
                        f"Registered {service.id}. Ingest key (shown once, copy it now): "
                        f"{registration.ingest_key}",
                    )
                elif registration.changed:
                    messages.success(request, f"Updated {service.id} to version {service.version}.")
                else:
                    messages.info(request, f"{service.id} is unchanged.")
                return HttpResponseRedirect(reverse("admin:ops_service_change", args=[service.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Register a service from .ops.yaml",
        }
        return TemplateResponse(request, "admin/ops/service/register.html", context)

    @admin.action(description="Rotate the ingest key (the new key is shown once)")
    def rotate_ingest_key(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        for service in queryset:
            key = services.rotate_ingest_key(service, actor=request.user)
            messages.warning(request, f"New ingest key for {service.id} (shown once): {key}")


@admin.register(SLOStateChange)
class SLOStateChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("slo", "from_state", "to_state", "value", "at")
    list_filter = ("to_state", "from_state")
    search_fields = ("slo__service__id", "slo__target")
    date_hierarchy = "at"
    list_select_related = ("slo",)
    readonly_fields = ("slo", "from_state", "to_state", "value", "at")
