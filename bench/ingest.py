"""API batch ingest on PostgreSQL vs a raw single-stream COPY of the same rows.

The API figure goes through everything a client pays for: the Django stack
(test client, middleware), ingest-key authentication, JSON parsing, per-sample
validation, series lookup and the COPY inside the request's transaction. The
references write the same rows (series id, time, value) with one COPY and
nothing else, two ways: psycopg ``write_row`` of Python values (text format, as
RECIPES.md measures "raw COPY"), and one pre-encoded binary buffer (no client
work at all). Goal: API samples/s at least 0.6 times the faster reference.
"""

import json
import time
from datetime import UTC, datetime

from bench._support import run_on_scratch_database

BATCH = 10_000
BATCHES = 10
ROUNDS = 5
GOAL = 0.6


def _yaml() -> str:
    return (
        "id: Bench_Scanner\nowner: TSA\nsensors:\n  - name: queue_time_seconds\n"
        "slo:\n  target: queue_time_seconds\n  threshold: 30\n  window_seconds: 300\n"
    )


def run() -> int:
    from django.db import connection
    from django.test import Client

    from ops.metrics.ingest import COPY_HEADER, COPY_TRAILER, encode
    from ops.metrics.validation import ONE_MICROSECOND, UNIX_EPOCH
    from ops.models import Sample, Series
    from ops.services import register_service

    key = register_service(_yaml()).ingest_key
    start = datetime.now(UTC).timestamp() - 3600
    bodies, rows = [], []
    for b in range(BATCHES):
        samples = [
            {
                "name": "queue_time_seconds",
                "value": (i * 7919) % 4000 / 100,
                "ts": start + b + i * 1e-4,
            }
            for i in range(BATCH)
        ]
        bodies.append(json.dumps({"samples": samples}))
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def api_round() -> float:
        started = time.perf_counter()
        for body in bodies:
            response = client.post(
                "/api/v1/metrics/", body, content_type="application/json", **headers
            )
            assert response.status_code == 201, response.content[:300]
        return time.perf_counter() - started

    api_round()  # warm-up: creates the series, fills caches
    series_id = Series.objects.get().pk
    for body in bodies:
        for s in json.loads(body)["samples"]:
            rows.append((series_id, datetime.fromtimestamp(s["ts"], tz=UTC), s["value"]))
    table = connection.ops.quote_name(Sample._meta.db_table)

    def copy_round() -> float:
        started = time.perf_counter()
        sql = f"COPY {table} (series_id, ts, value) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started

    body = encode([(sid, (ts - UNIX_EPOCH) // ONE_MICROSECOND, v) for sid, ts, v in rows])
    encoded = b"".join((COPY_HEADER, body, COPY_TRAILER))

    def binary_round() -> float:
        started = time.perf_counter()
        sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(encoded)
        return time.perf_counter() - started

    total = BATCH * BATCHES
    api_best = copy_best = binary_best = float("inf")
    for _ in range(ROUNDS):  # interleaved, so all see the same table size and cache state
        api_best = min(api_best, api_round())
        copy_best = min(copy_best, copy_round())
        binary_best = min(binary_best, binary_round())
    api_rate = total / api_best
    copy_rate, binary_rate = total / copy_best, total / binary_best
    reference = max(copy_rate, binary_rate)
    ratio = api_rate / reference
    print(f"samples per round              {total:>10,}  ({BATCHES} API requests of {BATCH:,})")
    print(f"API batch ingest               {api_rate:>10,.0f} samples/s  (best of {ROUNDS})")
    print(f"raw COPY, write_row (text)     {copy_rate:>10,.0f} samples/s  (reference, same rows)")
    print(f"raw COPY, pre-encoded binary   {binary_rate:>10,.0f} samples/s  (reference, same rows)")
    print(f"ratio to the faster reference  {ratio:>10.2f}  (goal >= {GOAL})")
    return 0 if ratio >= GOAL else 1


def main() -> int:
    return run_on_scratch_database(run)


if __name__ == "__main__":
    raise SystemExit(main())
