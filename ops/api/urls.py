from django.urls import path
from rest_framework.routers import SimpleRouter

from ops.api.views import MetricsView, SeriesView, ServiceViewSet

router = SimpleRouter()
router.register("services", ServiceViewSet, basename="service")

urlpatterns = [
    *router.urls,
    path("metrics/", MetricsView.as_view(), name="metrics-ingest"),
    path("series/", SeriesView.as_view(), name="series"),
]
