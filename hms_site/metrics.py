"""``/metrics``: the app's own figures and every verdict in Prometheus exposition format.

Web requests are counted in-process (one series set per web process). Figures
that other processes change (workers, beat, the watchdog, the SLO evaluator)
are read from the database at scrape time by collectors with a fixed number of
statements each (``DatabaseCollector`` here, ``apm.exposition`` and
``ops.exposition``), so every web process reports the same truth instead of
its own partial counter, and a scrape costs the same with 10 or 10,000 rows.
The metric names and labels are listed in docs/METRICS.md.

With ``HMS_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apm.exposition import VerdictCollector
from ops.exposition import OpsCollector

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

    def describe(self):
        return []

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
REGISTRY.register(VerdictCollector())
REGISTRY.register(OpsCollector())


def _authorized(request) -> bool:
    token = settings.HMS_METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@require_GET
def metrics_view(request):
    if not _authorized(request):
        response = JsonResponse(
            {"detail": "a bearer token is required (HMS_METRICS_TOKEN)"}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
