"""APM admin: baselines (with their latest deviations, "Run now", sign-off and backtest).

Every page is scoped by ``visible_to`` / ``editable_by`` (apm.models.access),
the same rules as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apm import backtest_admin as backtest_page
from apm import services, signoff
from apm.admin.base import ScopedAdmin, status_badge
from apm.models import Baseline, Deviation
from apm.models.access import SQL_PROBE_REFUSED, may_write_probe
from apm.pages_periods import period_strip
from ops.admin.filters import ScopedRelatedFilter
from ops.whatif_page import BacktestMixin

LATEST_SHOWN = 10


class LatestStatusFilter(admin.SimpleListFilter):
    title = "latest status"
    parameter_name = "latest_status"

    def lookups(self, request, model_admin):
        return [*Deviation.Status.choices, ("none", "never run")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(latest_status__isnull=True)
        if self.value():
            return queryset.filter(latest_status=self.value())
        return queryset


class BaselineForm(forms.ModelForm):
    user = None  # set per request by BaselineAdmin.get_form

    class Meta:
        model = Baseline
        fields = ["program", "name", "active", "target_value", "compare_op", "threshold_pct",
                  "min_samples", "probe_kind", "probe_query", "count_query", "schedule",
                  "period", "period_tz", "data_source"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # left out: the model's default (rolling, UTC, one sample enough)
        for name in ("period", "period_tz", "min_samples", "count_query"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_min_samples(self):
        value = self.cleaned_data.get("min_samples")
        return Baseline._meta.get_field("min_samples").default if value is None else value

    def clean_period(self):
        return self.cleaned_data.get("period") or Baseline.Period.ROLLING

    def clean_period_tz(self):
        return self.cleaned_data.get("period_tz") or "UTC"

    def clean(self):
        cleaned = super().clean()
        self.instance.probe_kind = cleaned.get("probe_kind", self.instance.probe_kind)
        self.instance.probe_query = cleaned.get("probe_query", self.instance.probe_query)
        if not may_write_probe(self.user, self.instance):
            self.add_error("probe_kind", SQL_PROBE_REFUSED)
        return cleaned


@admin.register(Baseline)
class BaselineAdmin(BacktestMixin, ScopedAdmin):
    list_display = (
        "name", "program", "promise", "probe_kind", "schedule", "active", "probe_verified",
        "latest", "latest_evaluated_at", "validated_at",
    )  # fmt: skip
    list_filter = (LatestStatusFilter, "probe_kind", "compare_op", "active", "probe_verified",
                   ("program", ScopedRelatedFilter))  # fmt: skip
    search_fields = ("name", "program__code", "program__name", "probe_query")
    list_select_related = ("program", "validated_by")
    actions = ["run_now", "sign_off"]
    fieldsets = [
        (None, {"fields": ["program", "name", "active"]}),
        ("Promise", {"fields": ["target_value", "compare_op", "threshold_pct", "min_samples"]}),
        (
            "Probe",
            {
                "fields": [
                    "probe_kind",
                    "probe_query",
                    "count_query",
                    "probe_verified",
                    "probe_note",
                ]
            },
        ),
        ("Schedule (UTC)", {"fields": ["schedule", "periodic_task_link"]}),
        ("Calendar periods", {"fields": ["period", "period_tz", "period_results"]}),
        ("Data source", {"fields": ["data_source", "validated_by", "validated_at"]}),
        ("Latest deviations", {"fields": ["latest_deviations", "backtest_link"]}),
    ]
    readonly_fields = ("probe_verified", "probe_note", "periodic_task_link", "latest_deviations",
                       "period_results", "backtest_link",
                       "validated_by", "validated_at")  # fmt: skip

    form = BaselineForm

    backtest_view = staticmethod(backtest_page.view)
    backtest_url_name = "apm_baseline_backtest"

    def get_urls(self):
        return [*self.backtest_urls(), *super().get_urls()]

    @admin.display(description="last 8 periods")
    def period_results(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return period_strip(obj)

    def view_on_site(self, obj):
        """The baseline's page: "why is it red", with charts and the escalation history."""
        return reverse("apm_pages:baseline", args=[obj.pk])

    def get_queryset(self, request):
        return super().get_queryset(request).with_latest_deviation()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not obj.probe_verified:
            self.message_user(request, f"Saved, but {obj.probe_note}", messages.WARNING)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Django wraps saves in a transaction; validating the probe may ask Prometheus,
        # and no network call may run inside a transaction. Baseline.save() is atomic itself.
        return self._changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="promise")
    def promise(self, obj):
        return f"{'≤' if obj.compare_op == Baseline.CompareOp.LE else '≥'} {obj.target_value:g}"

    @admin.display(description="latest", ordering="latest_status")
    def latest(self, obj):
        return status_badge(obj.latest_status, obj.latest_deviation_pct)

    @admin.display(description="evaluated", ordering="latest_evaluated_at")
    def latest_evaluated_at(self, obj):
        return obj.latest_evaluated_at

    @admin.display(description="periodic task")
    def periodic_task_link(self, obj):
        if not obj.periodic_task_id:
            return "—"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[obj.periodic_task_id])
        return format_html('<a href="{}">{}</a>', url, obj.periodic_task)

    @admin.display(description="latest deviations")
    def latest_deviations(self, obj):
        if not obj.pk:
            return "—"
        rows = obj.deviations.order_by("-evaluated_at", "-id")[:LATEST_SHOWN]
        if not rows:
            return "never run"
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    reverse("admin:apm_deviation_change", args=[d.pk]),
                    d.evaluated_at,
                    status_badge(d.status),
                    "—" if d.actual is None else f"{d.actual:g}",
                    f"{d.deviation_pct:+.1f} %",
                    d.get_trigger_display(),
                    d.evidence.get("error", ""),
                )
                for d in rows
            ),
        )
        return format_html(
            "<table><tr><th>evaluated</th><th>status</th><th>actual</th><th>deviation</th>"
            "<th>run by</th><th>reason</th></tr>{}</table>",
            body,
        )

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        allowed = list(queryset.editable_by(request.user).select_related("program"))
        skipped = queryset.count() - len(allowed)
        if len(allowed) > 1:
            # Several probes are the worker's job, never a web request's (one is bounded
            # by its timeout and runs here, so its result can be shown).
            self._queue(request, allowed)
            allowed = []
        for deviation in services.run_all(allowed, trigger=Deviation.Trigger.ADMIN):
            level = (
                messages.SUCCESS if deviation.status == Deviation.Status.OK else messages.WARNING
            )
            self.message_user(
                request,
                f"{deviation.baseline.name}: {deviation.get_status_display()}, "
                f"deviation {deviation.deviation_pct:+.1f} %",
                level,
            )
        if skipped:
            self.message_user(
                request, f"{skipped} baseline(s) skipped: not your program.", messages.ERROR
            )

    @admin.action(description="Sign off data source (I vouch for it as of now)")
    def sign_off(self, request, queryset):
        allowed = list(queryset.editable_by(request.user).select_related("program"))
        for baseline in allowed:
            signoff.renew(baseline, actor=request.user)
        if allowed:
            self.message_user(
                request, f"{len(allowed)} data source(s) signed off by you.", messages.SUCCESS
            )
        skipped = queryset.count() - len(allowed)
        if skipped:
            self.message_user(
                request, f"{skipped} baseline(s) skipped: not your program.", messages.ERROR
            )

    def _queue(self, request, baselines):
        try:
            queued = services.queue_runs(baselines, trigger=Deviation.Trigger.ADMIN)
        except services.QueueUnavailable as exc:
            self.message_user(request, f"Runs not queued: {exc}", messages.ERROR)
            return
        self.message_user(
            request,
            f"{len(queued)} baseline(s) queued to the worker; their deviations appear "
            "below as each run finishes.",
            messages.SUCCESS,
        )
