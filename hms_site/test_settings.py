"""Settings for the test suite: production settings plus test-only speed-ups.

The environment still decides the database (``DATABASE_URL``) and Redis.
"""

import os
import uuid

from kombu import Queue

os.environ.setdefault("SECRET_KEY", "test-only-" + "x" * 60)
os.environ.setdefault("DEBUG", "0")
# Test peers listen on loopback; tests of refused targets override this.
os.environ.setdefault("HMS_OUTBOUND_ALLOW", "127.0.0.1")

from hms_site.settings import *  # noqa: F403
from hms_site.settings import DATABASES, VAR_DIR

# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# A queue of this run's own, so a stale message from an earlier run is never consumed.
CELERY_TASK_DEFAULT_QUEUE = f"hms-test-{uuid.uuid4().hex[:8]}"
HMS_CELERY_ACTIONS_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-actions"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(HMS_CELERY_ACTIONS_QUEUE))
# The triggered pass evaluates at now and its verdict is newer than any beat pass a test
# runs at an instant of its choosing: off unless a test turns it on (tests/ops/test_slo_trigger.py).
HMS_SLO_TRIGGER_SECONDS = 0.0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Names resolve from an in-memory table (tests.support.dns): no test sends a DNS query.
HMS_OUTBOUND_RESOLVER = "tests.support.dns.resolve"
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Each test run gets a cache of its own (login throttling counts live there).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Worker and live-server threads must not keep connections open between requests,
# or the test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A file, not memory, so subprocesses (a Celery worker, manage.py) see the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# ops.clock.now(): a test pins the time reminders, on-call look-ups and pages use
# (an ISO-8601 string here lets a subprocess worker see it too).
HMS_TEST_CLOCK = os.environ.get("HMS_TEST_CLOCK") or None

# Tests choose the SQL probes' database themselves (tests/support/sql_probe.py), never
# a demo ledger a `make run` left in var/.
if not os.environ.get("HMS_SQL_PROBE_DATABASE_URL"):
    from hms_site.settings import PROBE_ALIAS

    HMS_SQL_PROBE_DATABASE = None
    DATABASES.pop(PROBE_ALIAS, None)
