"""Shared fixtures: users by role, and the real services (Redis + Celery worker, Prometheus)."""

import os

import pytest
import redis
from django.conf import settings

from tests.support.history import default_history
from tests.support.prometheus import PrometheusServer, binaries_available
from tests.support.remote_write import RemoteWritePrometheus
from tests.support.services import require
from tests.support.sql_probe import create_probe_database


@pytest.fixture(scope="session")
def redis_url():
    url = settings.REDIS_URL
    if not url:
        require("Redis", "REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require("Redis", f"{url}: {exc}")
    return url


@pytest.fixture
def celery_worker(redis_url, transactional_db):
    """A real Celery worker (solo pool, in this process) consuming this run's queue on Redis.

    Tasks run in the worker's thread against the test database, so tests that
    use it need ``transactional_db`` (requested here).
    """
    from celery.contrib.testing.worker import start_worker

    from hms_site.celery import app

    assert app.conf.broker_url == redis_url
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    """A private Prometheus on a free loopback port holding ``default_history()``."""
    missing = binaries_available()
    if missing:
        require("Prometheus", f"not installed: {missing} (apt-get install prometheus)")
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), default_history())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def remote_write_prometheus(tmp_path_factory):
    """One Prometheus taking remote write for the session (tests/support/remote_write.py);
    use ``prometheus_store``, which empties it for each test."""
    missing = binaries_available()
    if missing:
        require("Prometheus", f"not installed: {missing} (apt-get install prometheus)")
    server = RemoteWritePrometheus(tmp_path_factory.mktemp("remote-write"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prometheus_store(remote_write_prometheus, settings):
    """``HMS_METRICS_STORE=prometheus`` against the session's Prometheus, emptied first."""
    remote_write_prometheus.reset()
    settings.HMS_METRICS_STORE = "prometheus"
    settings.HMS_REMOTE_WRITE_URL = remote_write_prometheus.write_url
    settings.HMS_METRICS_QUERY_URL = remote_write_prometheus.url
    return remote_write_prometheus


@pytest.fixture(params=["database", "prometheus"])
def each_metrics_store(request):
    """Run the test once per metrics store (the seed checklist passes on both)."""
    if request.param == "prometheus":
        request.getfixturevalue("prometheus_store")
    return request.param


@pytest.fixture(scope="session", autouse=True)
def sql_probe_database(django_db_setup, django_db_blocker, tmp_path_factory):
    """SQL probes' own role (or read-only file) with reporting data: tests/support/sql_probe.py."""
    from django.test.utils import override_settings

    with django_db_blocker.unblock():
        probe, teardown = create_probe_database(tmp_path_factory)
    with override_settings(HMS_SQL_PROBE_DATABASE=probe):
        yield probe
    with django_db_blocker.unblock():
        teardown()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin_ada", "ada@example.org", "pw")


@pytest.fixture
def admin_client_token(admin_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    return client


def pytest_report_header(config):
    return [
        f"database: {os.environ.get('DATABASE_URL') or 'SQLite (default)'}",
        f"redis: {os.environ.get('REDIS_URL') or 'not set'}",
        f"HMS_REQUIRE_SERVICES={os.environ.get('HMS_REQUIRE_SERVICES', '0')}",
    ]


@pytest.fixture
def apm_worker(celery_worker):
    """``celery_worker`` whose tasks close their thread's DB connections when done.

    With CONN_MAX_AGE the worker thread would keep its PostgreSQL connection
    open past the test, and dropping the test database would then fail.
    """
    from celery.signals import task_postrun
    from django.db import connections

    def close_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    yield celery_worker
    task_postrun.disconnect(close_connections)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: throttle counters (login, ingest, runs) are
    keyed by user id, which SQLite hands out again after a rollback."""
    from django.core.cache import cache

    cache.clear()
