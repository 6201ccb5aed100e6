from django.urls import path
from rest_framework.routers import SimpleRouter

from ops.api.alertmanager import AlertmanagerView
from ops.api.audit import AuditEntryViewSet
from ops.api.channels import ChannelViewSet
from ops.api.incidents import EventView, IncidentViewSet
from ops.api.notifications import NotificationViewSet
from ops.api.schedules import ScheduleViewSet
from ops.api.views import MetricsView, SeriesView, ServiceViewSet

router = SimpleRouter()
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("channels", ChannelViewSet, basename="channel")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("services", ServiceViewSet, basename="service")

urlpatterns = [
    *router.urls,
    path("alertmanager/", AlertmanagerView.as_view(), name="alertmanager"),
    path("metrics/", MetricsView.as_view(), name="metrics-ingest"),
    path("series/", SeriesView.as_view(), name="series"),
    path("services/<str:service_id>/events/", EventView.as_view(), name="service-events"),
]
