"""Load: N concurrent emitters for D seconds against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://... python -m bench load_ingest
    HMS_LOAD_EMITTERS=50 HMS_LOAD_SECONDS=60 HMS_LOAD_BATCH=50  (defaults)

Each emitter posts batches with the service's ingest key, as a sensor would.
Afterwards every accepted sample must be in the database (counts equal, not
"about"), no answer may be a 5xx; samples/s and p50/p99 latency are printed.
"""

import os
import signal
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench._support import django_on_scratch_database, for_seconds, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
EMITTERS = int(os.environ.get("HMS_LOAD_EMITTERS", "50"))
SECONDS = float(os.environ.get("HMS_LOAD_SECONDS", "60"))
BATCH = int(os.environ.get("HMS_LOAD_BATCH", "50"))
SERVICE = "Load_Test_Service"
DEFINITION = f"""id: {SERVICE}
owner: load-test
sensors:
  - name: queue_time_seconds
slo:
  target: queue_time_seconds
  threshold: 30
  window_seconds: 300
"""


def _emitter(index, url, key, stop, results, lock):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    accepted = errors_5xx = other = 0
    latencies = []
    while not stop.is_set():
        now = datetime.now(UTC).isoformat()
        batch = [
            {
                "name": "queue_time_seconds",
                "value": float(n % 60),
                "ts": now,
                "labels": {"emitter": str(index)},
            }
            for n in range(BATCH)
        ]
        started = time.perf_counter()
        try:
            response = session.post(f"{url}/api/v1/metrics/", json={"samples": batch}, timeout=30)
        except requests.RequestException:
            other += 1
            continue
        latencies.append(time.perf_counter() - started)
        if response.status_code == 201:
            accepted += response.json()["accepted"]
        elif response.status_code >= 500:
            errors_5xx += 1
        else:
            other += 1
    with lock:
        results.append((accepted, errors_5xx, other, latencies))


def main() -> int:
    teardown = django_on_scratch_database("load_ingest")
    if teardown is None:
        return 0
    from django.db import connection

    from ops.models import Sample
    from ops.services import register_service

    key = register_service(DEFINITION, actor="bench.load_ingest").ingest_key
    connection.close()
    port = free_port()
    server = start_gunicorn(port, workers=3, threads=8, var="load")
    url = f"http://127.0.0.1:{port}"
    try:
        lock, results = threading.Lock(), []
        elapsed = for_seconds(
            SECONDS, lambda stop, i: _emitter(i, url, key, stop, results, lock), EMITTERS
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    accepted = sum(r[0] for r in results)
    errors_5xx = sum(r[1] for r in results)
    other = sum(r[2] for r in results)
    latencies = sorted(x for r in results for x in r[3])
    stored = Sample.objects.filter(series__service_id=SERVICE).count()
    teardown()

    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(f"emitters {EMITTERS}, {SECONDS:.0f} s, batches of {BATCH}, gunicorn 3x8 on PostgreSQL")
    print(f"requests        {len(latencies)} ({len(latencies) / elapsed:.0f}/s)")
    print(f"samples/s       {accepted / elapsed:,.0f} accepted")
    print(f"latency         p50 {p50:.1f} ms   p99 {p99:.1f} ms")
    print(f"5xx             {errors_5xx}    other refusals/errors {other}")
    print(f"accepted        {accepted}")
    print(f"stored          {stored}   ({'equal' if stored == accepted else 'MISMATCH'})")
    return 0 if stored == accepted and errors_5xx == 0 and accepted > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
