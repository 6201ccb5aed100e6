"""Fault: PostgreSQL connections dropped (pg_terminate_backend) while batches are ingested.

gunicorn serves the real app (production settings: persistent connections with
health checks) on the test database. A killer thread terminates the server's
connections again and again while a client posts batches, retrying a refused
batch as the SDK does. Each batch is one transaction: a dropped connection
rolls it back and answers 503, so the retry cannot duplicate it. At the end
every sample is stored exactly once, and no answer was a 500.
"""

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from ops.models import Sample
from ops.services import register_service
from tests.factories import service_yaml
from tests.support.services import free_port, wait_until
from tests.support.worker import subprocess_database_url

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
BATCHES, PER_BATCH = 30, 200


@pytest.fixture
def server_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("terminating backends is a PostgreSQL fault (DATABASE_URL)")


@pytest.fixture
def gunicorn(server_database, tmp_path):
    port = free_port()
    (tmp_path / "var" / "static").mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "hms_site.settings",
        "SECRET_KEY": "db-drop-test-" + "k" * 50,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": subprocess_database_url(),
        "HMS_VAR_DIR": str(tmp_path / "var"),
        "HMS_INGEST_RATE": "100000/min",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "hms_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=30, what="gunicorn to serve /healthz")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _terminate_server_connections(stop: threading.Event, killed: list):
    import psycopg

    pace = random.Random(14)
    with psycopg.connect(subprocess_database_url(), autocommit=True) as admin:
        while not stop.is_set():
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchall()
            killed.append(len(rows))
            # Irregular gaps: a busy machine's slow request still finds a gap to finish in.
            time.sleep(pace.uniform(0.02, 0.3))


def test_dropped_connections_lose_no_sample_and_store_none_twice(gunicorn):
    key = register_service(service_yaml(), actor="test").ingest_key
    connection.close()  # the killer would cut ours too; Django reopens it afterwards
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    stop, killed, answers = threading.Event(), [], []
    killer = threading.Thread(target=_terminate_server_connections, args=(stop, killed))
    killer.start()
    try:
        for batch in range(BATCHES):
            samples = [
                {"name": "queue_time_seconds", "value": float(batch * PER_BATCH + i),
                 "ts": time.time() - 60 + (batch * PER_BATCH + i) / 1000}
                for i in range(PER_BATCH)
            ]  # fmt: skip
            for attempt in range(60):
                try:
                    response = session.post(
                        f"{gunicorn}/api/v1/metrics/", json={"samples": samples}, timeout=10
                    )
                except requests.ConnectionError:
                    answers.append("connection error")
                    continue
                answers.append(response.status_code)
                if response.status_code == 201:
                    break
                time.sleep(min(0.05 * (attempt + 1), 0.5))
            else:
                pytest.fail(f"batch {batch} never accepted: {answers[-5:]}")
    finally:
        stop.set()
        killer.join()

    assert sum(killed) > 0, "the fault was never injected"
    assert 500 not in answers
    values = list(Sample.objects.values_list("value", flat=True))
    assert len(values) == BATCHES * PER_BATCH
    assert len(set(values)) == BATCHES * PER_BATCH
