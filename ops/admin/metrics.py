"""Admin for metric storage (read-only: samples arrive through ingest and scrape)."""

from django.contrib import admin

from ops.admin.filters import ScopedRelatedFilter
from ops.admin.readonly import ReadOnlyMixin
from ops.models import Sensor, Series


@admin.register(Series)
class SeriesAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("service", "name", "labels_key")
    list_filter = (("service", ScopedRelatedFilter),)
    search_fields = ("name",)
    readonly_fields = ("service", "name", "labels", "labels_key")


@admin.register(Sensor)
class SensorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Scrape health at a glance: last success and last error per sensor."""

    list_display = ("service", "name", "scrape_url", "last_success_at", "last_error_at")
    list_filter = (("service", ScopedRelatedFilter),)
    list_select_related = ("service",)
    readonly_fields = (
        "service",
        "name",
        "scrape_url",
        "help",
        "labels",
        "last_scrape_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "last_sample_count",
    )
