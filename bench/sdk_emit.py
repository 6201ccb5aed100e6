"""The OPS SDK from one process into gunicorn on PostgreSQL: ``emit()`` call rate, delivered
samples/s and drops, against the raw HTTP rate of pre-encoded batches in the same run.

    DATABASE_URL=postgres://... python -m bench sdk_emit
    HMS_BENCH_SDK_SECONDS=10 HMS_BENCH_SDK_RATE=60000   (defaults)

1. Where the time of one 10,000-sample batch goes, stage by stage, in this process:
   the SDK's JSON encoding and gzip, then the server's inflate, JSON parse,
   validation + series + binary COPY (``ops.metrics.ingest``), and a raw binary COPY
   of the same rows.
2. ``emit()`` call rate: a tight loop of calls (what the caller pays), sender running.
3. Delivered: ``emit()`` paced at ``HMS_BENCH_SDK_RATE`` for ``HMS_BENCH_SDK_SECONDS``,
   then ``flush()``; delivered samples/s = rows in the database / (last emit to flushed),
   with the emitter's drop count. Goal: >= 50,000/s with 0 dropped.
4. Reference: the same gunicorn, the same batch size and number of connections,
   posting one pre-encoded gzip body over and over (no SDK work at all): the most the
   sender could deliver.

Traffic goes only to 127.0.0.1; the database is ``bench_sdk_emit`` (dropped after).
"""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import threading
import time
from pathlib import Path

import requests

from bench import _support
from bench._support import (
    best_of,
    for_seconds,
    free_port,
    run_on_scratch_database,
    start_gunicorn,
)

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "sdk_emit"
SECONDS = float(os.environ.get("HMS_BENCH_SDK_SECONDS", "10"))
RATE = int(os.environ.get("HMS_BENCH_SDK_RATE", "60000"))
GOAL = 50_000
CALLS = 200_000
SERVICE = "Bench_Sdk_Scanner"
REFERENCE_BODIES = 100


def _samples(n: int, start: float) -> list[tuple]:
    return [
        (SERVICE, "queue_time_seconds", (i * 7919) % 4000 / 100, start + i * 1e-4, None)
        for i in range(n)
    ]


def _stages(key: str) -> tuple[list[bytes], dict]:
    """Time each stage of one batch in this process; distinct gzip bodies for the HTTP
    reference (the store's key refuses a resent batch: the same body posted again would
    time the duplicate path, COPY refused then upsert, not the sender's ceiling)."""
    from django.db import connection, transaction

    from hms_site.limits import inflate
    from ops.api.parsers import loads
    from ops.metrics import ingest
    from ops.metrics.ingest import COPY_HEADER, COPY_TRAILER, encode
    from ops.models import Sample, Series
    from ops_sdk.emitter import BATCH_SIZE
    from ops_sdk.wire import GZIP_LEVEL, Encoder

    start = time.time() - 3000
    batch = _samples(BATCH_SIZE, start)
    encoder = Encoder()
    body = encoder.batch(batch)
    packed = gzip.compress(body, compresslevel=GZIP_LEVEL)
    payload = loads(body, allow_nan=True)
    ingest(payload)  # creates the series
    series = Series.objects.get(service_id=SERVICE).pk
    # Each timed call writes rows of its own (1 us apart from the last call's): the key
    # (series_id, ts) refuses a second copy of the same rows.
    copies = iter(
        [
            encode([(series, round(ts * 1_000_000) + n, v) for _, _, v, ts, _ in batch])
            for n in range(1, 4)
        ]
    )
    payloads = iter(
        [loads(encoder.batch(_samples(BATCH_SIZE, start + n)), allow_nan=True) for n in (1, 2, 3)]
    )
    table = connection.ops.quote_name(Sample._meta.db_table)

    def raw_copy():
        rows = next(copies)
        sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(COPY_HEADER + rows + COPY_TRAILER)

    times = {
        "SDK: encode JSON": best_of(3, lambda: encoder.batch(batch)),
        "SDK: gzip": best_of(3, lambda: gzip.compress(body, compresslevel=GZIP_LEVEL)),
        "server: inflate": best_of(3, lambda: inflate(packed, 64 * 1024 * 1024)),
        "server: JSON parse (checked)": best_of(3, lambda: loads(body, allow_nan=True)),
        "server: validate + COPY (ingest)": best_of(3, lambda: ingest(next(payloads))),
        "raw binary COPY (reference)": best_of(3, raw_copy),
    }
    Sample.objects.all().delete()
    # The HTTP reference's bodies: distinct samples (10 s of batches at 100k/s at most,
    # then they repeat, which the printout would show as a slower reference).
    bodies = [
        gzip.compress(encoder.batch(_samples(BATCH_SIZE, start + 10 + n)), GZIP_LEVEL)
        for n in range(REFERENCE_BODIES)
    ]
    print(f"one batch of {BATCH_SIZE:,} samples: {len(body):,} bytes JSON, {len(packed):,} gzip")
    for stage, seconds in times.items():
        print(f"  {stage:<34} {seconds * 1000:8.1f} ms  ({BATCH_SIZE / seconds:>12,.0f}/s)")
    return bodies, times


def _raw_http(url: str, key: str, bodies: list, connections: int, seconds: float) -> float:
    """Pre-encoded gzip batches posted back to back on ``connections`` keep-alive sessions,
    each body once (a repeat only after all ``bodies`` were sent)."""
    from ops_sdk.emitter import BATCH_SIZE

    accepted, lock, sent = [0], threading.Lock(), itertools.count()
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }

    def post(stop, _index):
        session = requests.Session()
        while not stop.is_set():
            body = bodies[next(sent) % len(bodies)]
            response = session.post(f"{url}/api/v1/metrics/", data=body, headers=headers)
            assert response.status_code == 201, response.text[:300]
            with lock:
                accepted[0] += BATCH_SIZE

    elapsed = for_seconds(seconds, post, connections)
    return accepted[0] / elapsed


def _emitter(url: str, key: str):
    from hms_sdk import Client
    from ops_sdk.emitter import Emitter

    return Emitter(client=Client(url, key), ingest_key=key, service=SERVICE)


def _call_rate(url: str, key: str) -> tuple[float, dict]:
    emitter = _emitter(url, key)
    emit = emitter.emit
    started = time.perf_counter()
    for i in range(CALLS):
        emit("queue_time_seconds", float(i % 40))
    rate = CALLS / (time.perf_counter() - started)
    emitter.flush(120)
    emitter.close()
    return rate, emitter.stats()


def _delivered(url: str, key: str) -> tuple[float, int, dict]:
    from ops.models import Sample

    before = Sample.objects.count()
    emitter = _emitter(url, key)
    emit, total, chunk = emitter.emit, int(RATE * SECONDS), 500
    # Times 10 us apart, given by the caller: time.time() of two calls can round to the
    # same microsecond, and the store keeps one sample per (series, ts) (stored < emitted).
    first = time.time() - 1200
    started = time.perf_counter()
    for done in range(0, total, chunk):
        for i in range(chunk):
            emit("queue_time_seconds", float((done + i) % 40), ts=first + (done + i) * 1e-5)
        ahead = (done + chunk) / RATE - (time.perf_counter() - started)
        if ahead > 0:
            time.sleep(ahead)
    flushed = emitter.flush(120)
    elapsed = time.perf_counter() - started
    emitter.close()
    stored = Sample.objects.count() - before
    assert flushed, emitter.stats()
    return stored / elapsed, stored, emitter.stats()


def run() -> int:
    from django.db import connection

    from ops.services import register_service
    from ops_sdk.emitter import BATCH_SIZE, SENDERS
    from tests.factories.ops import service_yaml

    key = register_service(service_yaml(SERVICE), actor="bench.sdk_emit").ingest_key
    bodies, _ = _stages(key)
    connection.close()
    port = free_port()
    server = start_gunicorn(port, workers=2, threads=2, var="bench-sdk")
    url = f"http://127.0.0.1:{port}"
    try:
        reference = _raw_http(url, key, bodies, SENDERS, SECONDS)
        calls, call_stats = _call_rate(url, key)
        delivered, stored, stats = _delivered(url, key)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"gunicorn 2 workers x 2 threads on PostgreSQL; {SENDERS} sender connections; "
        f"batches of {BATCH_SIZE:,} gzip; load average {load}"
    )
    print(
        f"emit() call rate                  {calls:>10,.0f} calls/s  ({CALLS:,} calls, "
        f"{call_stats['dropped']:,} dropped while the sender caught up)"
    )
    print(f"raw HTTP, pre-encoded gzip batch  {reference:>10,.0f} samples/s  (reference)")
    print(
        f"SDK delivered, paced at {RATE:,}/s  {delivered:>10,.0f} samples/s  "
        f"({stored:,} stored of {int(RATE * SECONDS):,} emitted, {stats['dropped']} dropped, "
        f"{stats['requests']} requests)"
    )
    print(f"delivered / raw HTTP              {delivered / reference:>10.2f}")
    print(f"goal: >= {GOAL:,}/s delivered with 0 dropped")
    met = delivered >= GOAL and stats["dropped"] == 0 and stored == int(RATE * SECONDS)
    _support.record(
        "SDK: delivered samples/s from one process, 0 dropped",
        f"{delivered:,.0f}/s, {stats['dropped']:,} dropped (raw HTTP {reference:,.0f}/s)",
        f">= {GOAL:,}/s",
        met,
    )
    return 0 if met else 1


def main() -> int:
    return run_on_scratch_database(run, DATABASE)


if __name__ == "__main__":
    raise SystemExit(main())
