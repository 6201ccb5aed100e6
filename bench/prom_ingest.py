"""The ``prometheus`` store: ingest through the API vs the same samples remote-written
straight to Prometheus.

A private Prometheus (Debian's, ``--web.enable-remote-write-receiver``, empty tsdb)
on a loopback port. The API figure goes through everything a client pays for with
``HMS_METRICS_STORE=prometheus``: the Django stack (test client, middleware),
ingest-key authentication, JSON parsing, per-sample validation, the sensor check
(PostgreSQL), the ``WriteRequest`` encoding and the remote write. The reference
sends the same samples (same series, same batches of 1,000, the SDK's size) to the
same Prometheus as a remote-write client would: ``WriteRequest`` encoded from the
samples with the store's own encoder (``promwire.encode``: a faster encoder speeds
both sides), then POSTed over keep-alive urllib3, one request per batch, one
sender; a second reference POSTs bodies encoded beforehand (Prometheus' own work
only). Goal: API samples/s at least 0.5
times the encode-and-send reference.

The API figure is also split (two clock reads around ``PrometheusStore.write``): the
store's write (encode + remote write, what the reference pays too) and the rest of
the request (test-client HTTP stack, ingest key, JSON, checks, sensor query), which
only the API pays. bench/README.md ("prometheus store ingest") has the figures.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from bench import _support
from bench._support import django_on_scratch_database

BATCH = 1_000
BATCHES = 20
ROUNDS = 5
GOAL = 0.5
SERVICE = "Bench_Scanner"
METRIC = "queue_time_seconds"


def _yaml(service: str) -> str:
    return (
        f"id: {service}\nowner: TSA\nsensors:\n  - name: {METRIC}\n"
        f"slo:\n  target: {METRIC}\n  threshold: 30\n  window_seconds: 300\n"
    )


def _batches(first_ms: int) -> list[list[tuple[int, float]]]:
    """BATCHES batches of (ms, value), every sample 1 ms after the one before."""
    return [
        [(first_ms + (b * BATCH + i), (i * 7919) % 4000 / 100) for i in range(BATCH)]
        for b in range(BATCHES)
    ]


def run(prometheus) -> int:
    import urllib3
    from django.test import Client, override_settings

    from ops.metrics.store.prometheus import PrometheusStore
    from ops.metrics.store.promwire import CONTENT_HEADERS, encode, series_labels
    from ops.services import register_service

    api_key = register_service(_yaml(SERVICE)).ingest_key
    pool = urllib3.PoolManager(retries=False)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    # Each round writes later samples (Prometheus takes a series in time order): the API
    # writes service Bench_Scanner, the references the same samples as Bench_Ref/Bench_Pre.
    span = BATCHES * BATCH
    start_ms = (int(time.time()) - 1800) * 1000
    rounds = [_batches(start_ms + r * span) for r in range(ROUNDS + 1)]

    in_store = [0.0]  # seconds inside the store's write during the current API round
    store_write = PrometheusStore.write

    def timed_write(self, series, chunks):
        started = time.perf_counter()
        try:
            return store_write(self, series, chunks)
        finally:
            in_store[0] += time.perf_counter() - started

    def api_round(batches) -> tuple[float, float]:
        bodies = [
            json.dumps({"samples": [{"name": METRIC, "value": v, "ts": ms / 1000} for ms, v in b]})
            for b in batches
        ]
        in_store[0] = 0.0
        started = time.perf_counter()
        for body in bodies:
            response = client.post(
                "/api/v1/metrics/", body, content_type="application/json", **headers
            )
            assert response.status_code == 201, response.content[:300]
        return time.perf_counter() - started, in_store[0]

    def send(body: bytes) -> None:
        response = pool.request("POST", prometheus.write_url, body=body, headers=CONTENT_HEADERS)
        assert response.status == 204, response.data[:300]

    def reference_round(batches) -> float:
        labels = series_labels("Bench_Ref", METRIC, {})
        started = time.perf_counter()
        for batch in batches:
            send(encode({labels: batch}))
        return time.perf_counter() - started

    def pre_encoded_round(batches) -> float:
        labels = series_labels("Bench_Pre", METRIC, {})
        bodies = [encode({labels: batch}) for batch in batches]
        started = time.perf_counter()
        for body in bodies:
            send(body)
        return time.perf_counter() - started

    api_best = ref_best = pre_best = float("inf")
    store_share = 0.0
    PrometheusStore.write = timed_write  # two clock reads a request: the store's share
    try:
        with override_settings(
            HMS_METRICS_STORE="prometheus",
            HMS_REMOTE_WRITE_URL=prometheus.write_url,
            HMS_METRICS_QUERY_URL=prometheus.url,
        ):
            api_round(rounds[0])  # warm-up: caches, connections, Prometheus' series
            reference_round(rounds[0])
            pre_encoded_round(rounds[0])
            for batches in rounds[1:]:  # interleaved: the same server state for each
                api_time, store_time = api_round(batches)
                if api_time < api_best:
                    api_best, store_share = api_time, store_time
                ref_best = min(ref_best, reference_round(batches))
                pre_best = min(pre_best, pre_encoded_round(batches))
    finally:
        PrometheusStore.write = store_write
    stored = prometheus.query(f"count_over_time({METRIC}[2h])", time.time())
    counts = {s["metric"]["service"]: int(s["value"][1]) for s in stored}
    expected = (ROUNDS + 1) * span
    assert counts == dict.fromkeys(("Bench_Pre", "Bench_Ref", SERVICE), expected), counts
    total = span
    api_rate, ref_rate, pre_rate = total / api_best, total / ref_best, total / pre_best
    ratio = api_rate / ref_rate
    print(f"samples per round                 {total:>9,}  ({BATCHES} requests of {BATCH:,})")
    print(f"API ingest, prometheus store      {api_rate:>9,.0f} samples/s  (best of {ROUNDS})")
    per_request = 1000 / BATCHES
    print(
        f"  a request of it                 {api_best * per_request:>9.2f} ms: the store's write "
        f"(encode + remote write) {store_share * per_request:.2f} ms, the rest (HTTP stack, key, "
        f"JSON, checks, sensors) {(api_best - store_share) * per_request:.2f} ms"
    )
    print(f"  a request of the reference      {ref_best * per_request:>9.2f} ms")
    print(f"remote write: encode + POST       {ref_rate:>9,.0f} samples/s  (reference, same run)")
    print(f"remote write: POST pre-encoded    {pre_rate:>9,.0f} samples/s  (Prometheus alone)")
    print(f"stored in Prometheus              {expected:>9,} per writer  (checked by PromQL)")
    print(f"ratio API / encode + POST         {ratio:>9.2f}  (goal >= {GOAL})")
    print(f"ratio API / POST pre-encoded      {api_rate / pre_rate:>9.2f}")
    print(f"load average (1, 5, 15 min)       {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    met = _support.record(
        "prometheus store: API ingest ÷ remote write straight to Prometheus",
        f"{ratio:.2f} ({api_rate:,.0f} vs {ref_rate:,.0f} samples/s)",
        f">= {GOAL}",
        ratio >= GOAL,
    )
    return 0 if met else 1


def main() -> int:
    import shutil

    if shutil.which("prometheus") is None:
        print("skipped: the prometheus binary is not installed (apt-get install prometheus)")
        return 0
    teardown = django_on_scratch_database("prom_ingest")
    if teardown is None:
        return 0
    from tests.support.remote_write import RemoteWritePrometheus

    workdir = Path(tempfile.mkdtemp(prefix="bench-prom-"))
    prometheus = RemoteWritePrometheus(workdir, out_of_order=None).start()
    try:
        return run(prometheus)
    finally:
        prometheus.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        teardown()


if __name__ == "__main__":
    raise SystemExit(main())
