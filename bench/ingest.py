"""Ingest through gunicorn, 1,000-sample batches from 8 concurrent senders, vs raw COPY.

Measured: the real web server (gunicorn with ``deploy/gunicorn.conf.py``, production
settings, a separate process on 127.0.0.1) receiving ``POST /api/v1/metrics/`` from
``SENDERS`` threads at once, each a service of its own with its ingest key
(``Authorization: Bearer``) posting batches of ``BATCH`` samples as the SDK sends them
(``{"name", "value", "ts"}``, epoch seconds) over a keep-alive urllib3 connection. All
of it counts: HTTP, middleware, authentication, the size-capped JSON parser, per-sample
validation, series resolution and the COPY in the request's transaction. The bodies are
JSON-encoded before the clock starts (the SDK's encoding is bench.sdk_emit's business).

Reference (same run, same number of rows, same table): ONE stream writing the rows
with psycopg's ``COPY ... FROM STDIN``, two ways: ``write_row`` of Python values (RECIPES.md's
"raw COPY") and one pre-encoded binary buffer (no client work at all). The goal is judged
against the faster of the two. API rounds and reference rounds take turns; best of
``ROUNDS`` each. Every sample posted must be stored (counted at the end).

Goal: API samples/s >= 0.6 x the reference.
"""

import json
import os
import threading
import time
from datetime import UTC, datetime

import urllib3

from bench._support import django_on_scratch_database, record

BATCH = 1_000
SENDERS = 8
BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", "12"))  # per sender per round
ROUNDS = int(os.environ.get("BENCH_INGEST_ROUNDS", "5"))
GOAL = 0.6
SENSOR = "queue_time_seconds"


def _yaml(service_id: str) -> str:
    return (
        f"id: {service_id}\nowner: bench\nsensors:\n  - name: {SENSOR}\n"
        f"slo:\n  target: {SENSOR}\n  threshold: 30\n  window_seconds: 300\n"
    )


def _bodies(base: float, round_: int) -> list[list[bytes]]:
    """Each sender's batches for one round: timestamps unique per series across rounds."""
    per_round = BATCHES * BATCH
    return [
        [
            json.dumps(
                {
                    "samples": [
                        {
                            "name": SENSOR,
                            "value": (i * 7919 + s) % 4000 / 100,
                            "ts": base + (round_ * per_round + b * BATCH + i) * 1e-3,
                        }
                        for i in range(BATCH)
                    ]
                }
            ).encode()
            for b in range(BATCHES)
        ]
        for s in range(SENDERS)
    ]


def _send_all(url: str, keys: list[str], bodies: list[list[bytes]]) -> float:
    """All senders at once; returns the wall time from the first request to the last answer."""
    pools = [urllib3.HTTPConnectionPool("127.0.0.1", int(url.rsplit(":", 1)[1])) for _ in keys]
    for pool in pools:  # connect before the clock starts, as a long-running sender is
        pool.request("GET", "/healthz")
    failures: list[str] = []
    start = threading.Barrier(SENDERS + 1)

    def sender(n: int) -> None:
        headers = {"Authorization": f"Bearer {keys[n]}", "Content-Type": "application/json"}
        start.wait()
        for body in bodies[n]:
            response = pools[n].request("POST", "/api/v1/metrics/", body=body, headers=headers)
            if response.status != 201:
                failures.append(f"{response.status} {response.data[:200]!r}")

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} batches refused, first: {failures[0]}")
    return elapsed


def run() -> int:
    from django.db import connection

    from bench._gunicorn import gunicorn
    from ops.metrics.ingest import COPY_HEADER, COPY_TRAILER, encode
    from ops.models import Sample, Series
    from ops.services import register_service

    api_ids = [f"Bench_Sender_{n}" for n in range(SENDERS)]
    keys = [register_service(_yaml(s)).ingest_key for s in api_ids]
    reference_ids = ["Bench_Reference"]
    register_service(_yaml(reference_ids[0]))
    reference_series = Series.objects.create(service_id=reference_ids[0], name=SENSOR).pk
    base = datetime.now(UTC).timestamp() - 3 * 3600
    total = SENDERS * BATCHES * BATCH
    table = connection.ops.quote_name(Sample._meta.db_table)
    connection.close()  # gunicorn's workers get the database to themselves between rounds

    def reference_rows(round_: int):
        first = base + round_ * total * 1e-3
        return [(reference_series, first + j * 1e-3, (j * 7919) % 4000 / 100) for j in range(total)]

    def copy_round(round_: int) -> float:
        rows = [
            (sid, datetime.fromtimestamp(ts, tz=UTC), v) for sid, ts, v in reference_rows(round_)
        ]
        started = time.perf_counter()
        sql = f"COPY {table} (series_id, ts, value) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started

    def binary_round(round_: int) -> float:
        rows = [(sid, round(ts * 1e6), v) for sid, ts, v in reference_rows(round_)]
        encoded = b"".join((COPY_HEADER, encode(rows), COPY_TRAILER))
        started = time.perf_counter()
        sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(encoded)
        return time.perf_counter() - started

    api, text, binary = [], [], []
    with gunicorn() as url:
        # Warm-up round (not timed): workers import and connect, series are created.
        _send_all(url, keys, _bodies(base, 0))
        for r in range(1, ROUNDS + 1):  # taking turns, so all see the same table size
            api.append(_send_all(url, keys, _bodies(base, r)))
            text.append(copy_round(2 * r))
            binary.append(binary_round(2 * r + 1))
    stored = Sample.objects.filter(series__service_id__in=api_ids).count()
    expected = total * (ROUNDS + 1)
    if stored != expected:
        print(f"stored {stored:,} samples, posted {expected:,}")
        return 1
    api_rate, text_rate, binary_rate = (total / min(t) for t in (api, text, binary))
    reference = max(text_rate, binary_rate)
    print(f"samples per round              {total:>10,}  ({SENDERS} senders x {BATCHES} "
          f"batches of {BATCH:,}; all {expected:,} stored)")  # fmt: skip
    print(f"API through gunicorn           {api_rate:>10,.0f} samples/s  (best of {ROUNDS})")
    print(f"raw COPY, write_row (text)     {text_rate:>10,.0f} samples/s  (one stream)")
    print(f"raw COPY, pre-encoded binary   {binary_rate:>10,.0f} samples/s  (one stream)")
    ratio = api_rate / reference
    met = record(
        "ingest via gunicorn, 8 senders x 1,000 / raw COPY",
        f"{ratio:.2f} ({api_rate:,.0f} vs {reference:,.0f} samples/s)",
        f">= {GOAL:g}",
        ratio >= GOAL,
    )
    return 0 if met else 1


def main() -> int:
    teardown = django_on_scratch_database("ingest")
    if teardown is None:
        return 0
    try:
        return run()
    finally:
        teardown()


if __name__ == "__main__":
    raise SystemExit(main())
