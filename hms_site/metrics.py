"""``/metrics``: the app's own figures in Prometheus exposition format.

Web requests are counted in-process (one series set per web process). Figures
that other processes change (workers, beat) are read from the database at
scrape time by ``DatabaseCollector``, so every web process reports the same
truth instead of its own partial counter.
"""

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry()

HTTP_REQUESTS = Counter(
    "hms_http_requests",
    "HTTP requests answered by this web process.",
    ["method", "status"],
    registry=REGISTRY,
)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response


class DatabaseCollector:
    """Gauges computed from the database at scrape time."""

    def collect(self):
        from ops.models import WorkerHeartbeat

        age = GaugeMetricFamily(
            "hms_worker_heartbeat_age_seconds",
            "Seconds since a Celery worker last ran the heartbeat task.",
            labels=["name"],
        )
        now = timezone.now()
        for heartbeat in WorkerHeartbeat.objects.all():
            age.add_metric([heartbeat.name], (now - heartbeat.beat_at).total_seconds())
        yield age


REGISTRY.register(DatabaseCollector())


@require_GET
def metrics_view(request):
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
