"""``/healthz``: is the database reachable, is the broker reachable, is a worker alive."""

import os

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from kombu import Connection

from hms_site.celery import app as celery_app
from ops.models import WorkerHeartbeat


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    url = celery_app.conf.broker_url
    transport = url.split(":", 1)[0]
    if transport == "filesystem":
        folders = {
            celery_app.conf.broker_transport_options.get(key)
            for key in ("data_folder_in", "data_folder_out", "processed_folder")
        }
        missing = [f for f in folders if not (f and os.access(f, os.W_OK))]
        if missing:
            return {"ok": False, "transport": transport, "error": f"not writable: {missing}"}
        return {"ok": True, "transport": transport}
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return {"ok": False, "transport": transport, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "transport": transport}


def check_worker() -> dict:
    """Informational: a worker that has not beaten for 4 periods is reported stale."""
    heartbeat = WorkerHeartbeat.objects.filter(name="worker").first()
    if heartbeat is None:
        return {"ok": None, "last_heartbeat": None}
    age = (timezone.now() - heartbeat.beat_at).total_seconds()
    stale = age > max(4 * settings.HEARTBEAT_SECONDS, 60)
    return {
        "ok": not stale,
        "last_heartbeat": heartbeat.beat_at.isoformat(),
        "age_seconds": round(age, 1),
    }


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    if checks["database"]["ok"]:
        checks["worker"] = check_worker()
    healthy = checks["database"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404)
