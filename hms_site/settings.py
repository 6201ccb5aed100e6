"""HMS Monitor settings, read from the environment (see README "Configuration").

The embedded default needs nothing: SQLite in ``var/`` and Celery's
``filesystem://`` broker. ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis. A malformed value stops start-up naming the variable.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from hms_site.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_url,
)
from hms_site.probe_database import ALIAS as PROBE_ALIAS
from hms_site.probe_database import probe_database

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HMS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

# `make run` generates var/secret-key; every manage.py in a plain shell then signs
# with the same key (SECRET_KEY or SECRET_KEY_FILE, when set, win).
_GENERATED_KEY = VAR_DIR / "secret-key"
_GENERATED = _GENERATED_KEY.read_text().strip() if _GENERATED_KEY.is_file() else None
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", _GENERATED or "django-insecure-local-development-only")
else:
    SECRET_KEY = env_str("SECRET_KEY", _GENERATED) if _GENERATED else env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 50 random characters when DEBUG is off"
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "hms_site",
    "ops",
    "apm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hms_site.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hms_site.metrics.RequestMetricsMiddleware",
    # Before anything reads a body (CSRF, login throttling, parsers): 413 unread.
    "hms_site.limits.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hms_site.throttle.LoginLockoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hms_site.dberrors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "hms_site.urls"
WSGI_APPLICATION = "hms_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'hms.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r}: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for a lock instead of failing;
    # write-ahead logging lets them read while one writes, and a commit is one
    # fsync of the log instead of a rollback journal created and deleted.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"}
    )
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# SQL probes: their own alias and role, never the app's (docs/SQL_PROBES.md). Unset, the
# demo ledger `make run` builds in var/ is used when it is there, so manage.py in a plain
# shell probes what the running product probes.
DEMO_LEDGER = VAR_DIR / "demo-ledger.sqlite3"
HMS_SQL_PROBE_DATABASE_URL = env_url(
    "HMS_SQL_PROBE_DATABASE_URL",
    f"sqlite:///{DEMO_LEDGER.resolve()}" if DEMO_LEDGER.is_file() else None,
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
HMS_SQL_PROBE_DATABASE = (
    probe_database(HMS_SQL_PROBE_DATABASE_URL, DATABASES["default"])
    if HMS_SQL_PROBE_DATABASE_URL
    else None
)
if HMS_SQL_PROBE_DATABASE:
    DATABASES[PROBE_ALIAS] = HMS_SQL_PROBE_DATABASE
DATABASE_ROUTERS = ["hms_site.routers.SqlProbeRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "admin:login"
# /login/ without ?next= lands on the dashboard (Django's default, /accounts/profile/, is a 404).
LOGIN_REDIRECT_URL = "apm_pages:dashboard"
# The first backend refuses a locked-out username or address before any password is
# checked, on every path that authenticates (hms_site/auth_backends.py).
AUTHENTICATION_BACKENDS = [
    "hms_site.auth_backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- security -----------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Every asset is served from this origin (vendored), so the policy can be strict.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'",
)

REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))

# --- cache (login throttling, DRF throttles) -----------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hms",
        }
    }
else:
    # Shared by every process of the embedded default (web workers, Celery).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Failed logins per username (any address), and per address (any username), before
# that username / address is refused for LOGIN_LOCKOUT_SECONDS after its last failure.
LOGIN_FAILURES_ALLOWED = env_int("HMS_LOGIN_FAILURES_ALLOWED", 5, minimum=1)
LOGIN_ADDRESS_FAILURES_ALLOWED = env_int("HMS_LOGIN_ADDRESS_FAILURES_ALLOWED", 30, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("HMS_LOGIN_LOCKOUT_SECONDS", 300, minimum=1)
# Reverse proxies (CIDRs) whose X-Forwarded-For names the client, for the per-address count.
HMS_TRUSTED_PROXIES, _proxy_names = env_networks("HMS_TRUSTED_PROXIES")
if _proxy_names:
    raise ImproperlyConfigured(
        f"HMS_TRUSTED_PROXIES lists addresses or CIDRs, not names: {sorted(_proxy_names)}"
    )

# --- request limits (hms_site/limits.py, ops/api/parsers.py) -------------------
HMS_REQUEST_MAX_BYTES = env_int("HMS_REQUEST_MAX_BYTES", 2_621_440, minimum=1024)
HMS_INGEST_MAX_BYTES = env_int("HMS_INGEST_MAX_BYTES", 4 * 1024 * 1024, minimum=1024)
HMS_JSON_MAX_DEPTH = env_int("HMS_JSON_MAX_DEPTH", 64, minimum=2)
# The middleware is the one check; Django's own (an HTML 400) must never answer first.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(HMS_REQUEST_MAX_BYTES, HMS_INGEST_MAX_BYTES)

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "ops.api.parsers.JSONParser",
        "ops.api.parsers.FormParser",
        "ops.api.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Requests per period; each ingest request carries up to 10,000 samples.
    "DEFAULT_THROTTLE_RATES": {"ingest": env_str("HMS_INGEST_RATE", "1200/min")},
}
# APM runs: a single POST baselines/{id}/run/ probes inside the request, so it is rate
# limited per user (apm.api.throttles); a run may be dated at most this far ahead.
HMS_RUN_RATE = env_str("HMS_RUN_RATE", "60/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", HMS_RUN_RATE):
    raise ImproperlyConfigured(f"HMS_RUN_RATE={HMS_RUN_RATE!r}: give N/s, N/min, N/hour or N/day")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["baseline-run"] = HMS_RUN_RATE
HMS_CLOCK_SKEW_SECONDS = env_int("HMS_CLOCK_SKEW_SECONDS", 300, minimum=0)
# Calendar periods (docs/VERDICTS.md): the month a fiscal year starts in (10 = October,
# the US federal year); quarters align with it.
HMS_FISCAL_YEAR_START_MONTH = env_int("HMS_FISCAL_YEAR_START_MONTH", 10, minimum=1)
if HMS_FISCAL_YEAR_START_MONTH > 12:
    raise ImproperlyConfigured(
        f"HMS_FISCAL_YEAR_START_MONTH={HMS_FISCAL_YEAR_START_MONTH} must be a month, 1-12"
    )
# How long program staff's sign-off of a baseline's data source stays fresh (apm/signoff.py).
HMS_VALIDATION_MAX_AGE_DAYS = env_int("HMS_VALIDATION_MAX_AGE_DAYS", 365, minimum=1)
# The longest any one probe measurement may take (each kind's own timeout is capped by it).
HMS_PROBE_TIMEOUT_SECONDS = env_float("HMS_PROBE_TIMEOUT_SECONDS", 15.0, minimum=0.1)
SPECTACULAR_SETTINGS = {
    "TITLE": "HMS Monitor API",
    "DESCRIPTION": "Programs, baselines and deviations (APM); services, metrics and SLOs (OPS).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hms_site.openapi.add_error_responses",
    ],
    # an escalation's level and a route's min_level are one choice set
    "ENUM_NAME_OVERRIDES": {
        "LevelEnum": "apm.models.escalation.Level",
        "AlertStatusEnum": "ops.alertmanager.ALERT_STATUSES",
    },
}

# --- Celery -------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's broadcast (worker control) folder defaults to ./control: keep it in var/.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("HMS_CELERY_QUEUE", "hms")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "hms_site.beat:DatabaseScheduler"  # django-celery-beat's, quick exit
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
HEARTBEAT_SECONDS = env_float("HMS_HEARTBEAT_SECONDS", 15.0, minimum=1.0)
HMS_SLO_EVAL_SECONDS = env_float("HMS_SLO_EVAL_SECONDS", 5.0, minimum=1.0)
# An SLO change not handed off (audit, incident, playbook plan) this long after its pass
# is sent again by the beat (ops.slo_handoff.sweep); a failed hand-off is tried this often.
HMS_SLO_HANDOFF_GRACE_SECONDS = env_float("HMS_SLO_HANDOFF_GRACE_SECONDS", 15.0, minimum=1.0)
HMS_SLO_HANDOFF_MAX_ATTEMPTS = env_int("HMS_SLO_HANDOFF_MAX_ATTEMPTS", 5, minimum=1)
HMS_SCRAPE_SECONDS = env_float("HMS_SCRAPE_SECONDS", 15.0, minimum=1.0)
HMS_METRIC_RETENTION_DAYS = env_int("HMS_METRIC_RETENTION_DAYS", 30, minimum=1)
# Where samples live (ops.metrics.store.STORES): the application's database, or an
# engine speaking Prometheus remote write and PromQL.
HMS_METRICS_STORE = env_str("HMS_METRICS_STORE", "database")
if HMS_METRICS_STORE not in ("database", "prometheus"):
    raise ImproperlyConfigured(
        f"HMS_METRICS_STORE={HMS_METRICS_STORE!r}: give database or prometheus"
    )
# database store on PostgreSQL: day partitions created this many days ahead (hourly).
HMS_METRIC_PARTITIONS_AHEAD = env_int("HMS_METRIC_PARTITIONS_AHEAD", 3, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "ops.tasks.record_heartbeat", "schedule": HEARTBEAT_SECONDS},
    # A pass or scrape not started within its interval is dropped: the next one supersedes it.
    "ops-evaluate-slos": {
        "task": "ops.tasks.evaluate_slos",
        "schedule": HMS_SLO_EVAL_SECONDS,
        "options": {"expires": HMS_SLO_EVAL_SECONDS},
    },
    "ops-scrape-sensors": {
        "task": "ops.tasks.scrape_sensors",
        "schedule": HMS_SCRAPE_SECONDS,
        "options": {"expires": HMS_SCRAPE_SECONDS},
    },
    "ops-purge-samples": {"task": "ops.tasks.purge_expired_samples", "schedule": 3600.0},
    "notifications-dispatch-due": {
        "task": "ops.outbox.tasks.dispatch_due_notifications",
        "schedule": env_float("HMS_NOTIFY_SWEEP_SECONDS", 30.0, minimum=1.0),
    },
    # reminders of open escalations (apm.reminders): due times are rows, this sends them
    "apm-escalation-reminders": {
        "task": "apm.tasks.send_due_reminders",
        "schedule": env_float("HMS_REMINDER_SWEEP_SECONDS", 60.0, minimum=1.0),
    },
    "ops-repeat-pages": {
        "task": "ops.tasks.repeat_pages",
        "schedule": env_float("HMS_REMINDER_SWEEP_SECONDS", 60.0, minimum=1.0),
    },
    # daily, after the nightly watchdog (02:00): red N days without a fix -> leadership review
    # hourly: each calendar period that has closed keeps its result (apm.period_results)
    "apm-close-periods": {
        "task": "apm.tasks.close_periods",
        "schedule": crontab(minute=5),
    },
    "apm-escalation-policies": {
        "task": "apm.tasks.apply_escalation_policies",
        "schedule": crontab(minute=30, hour=2),
    },
}

# --- notification outbox (ops.outbox; docs/NOTIFICATIONS.md) ------------------
HMS_NOTIFY_MAX_ATTEMPTS = env_int("HMS_NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
HMS_NOTIFY_BACKOFF_SECONDS = env_float("HMS_NOTIFY_BACKOFF_SECONDS", 30.0, minimum=0.0)
HMS_NOTIFY_BACKOFF_MAX_SECONDS = env_float("HMS_NOTIFY_BACKOFF_MAX_SECONDS", 3600.0, minimum=0.0)
HMS_NOTIFY_TIMEOUT_SECONDS = env_float("HMS_NOTIFY_TIMEOUT_SECONDS", 20.0, minimum=0.1)
HMS_NOTIFY_LEASE_SECONDS = env_float("HMS_NOTIFY_LEASE_SECONDS", 120.0, minimum=1.0)
if HMS_NOTIFY_LEASE_SECONDS < 2 * HMS_NOTIFY_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "HMS_NOTIFY_LEASE_SECONDS must be at least twice HMS_NOTIFY_TIMEOUT_SECONDS"
    )

# --- integrations -------------------------------------------------------------
PROMETHEUS_URL = env_url("PROMETHEUS_URL", None, schemes=("http", "https"))
# The prometheus metrics store (docs/METRICS.md): remote write target and PromQL base URL
# (default: PROMETHEUS_URL); both required when HMS_METRICS_STORE=prometheus.
HMS_REMOTE_WRITE_URL = env_url("HMS_REMOTE_WRITE_URL", None, schemes=("http", "https"))
HMS_METRICS_QUERY_URL = env_url("HMS_METRICS_QUERY_URL", PROMETHEUS_URL, schemes=("http", "https"))
HMS_PROMETHEUS_TIMEOUT_SECONDS = env_float("HMS_PROMETHEUS_TIMEOUT_SECONDS", 10.0, minimum=0.1)
if HMS_METRICS_STORE == "prometheus":
    for _name in ("HMS_REMOTE_WRITE_URL", "HMS_METRICS_QUERY_URL"):
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} must be set when HMS_METRICS_STORE=prometheus")
if HMS_REMOTE_WRITE_URL and urlsplit(HMS_REMOTE_WRITE_URL).path.strip("/") == "":
    raise ImproperlyConfigured(
        f"HMS_REMOTE_WRITE_URL={HMS_REMOTE_WRITE_URL!r}: give the write endpoint itself, "
        "e.g. http://prometheus:9090/api/v1/write"
    )
# A bearer token that /metrics scrapes must send; unset = open (the default for a private network).
HMS_METRICS_TOKEN = env_str("HMS_METRICS_TOKEN", "")
# POST /api/v1/alertmanager/: the receiver key, and the alert label naming the service.
HMS_ALERTMANAGER_TOKEN = env_str("HMS_ALERTMANAGER_TOKEN", "")
HMS_ALERTMANAGER_SERVICE_LABEL = env_str("HMS_ALERTMANAGER_SERVICE_LABEL", "service")
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN", "")
SLACK_API_URL = env_url("SLACK_API_URL", "https://slack.com/api/", schemes=("http", "https"))
KUBE_API_URL = env_url("KUBE_API_URL", None, schemes=("http", "https"))
KUBE_TOKEN = env_str("KUBE_TOKEN", "")
# The embedded default (no Redis, no KUBE_API_URL) has no cluster: playbooks record what
# they would send. Set KUBE_DRY_RUN=0 to use a kubeconfig / in-cluster account there.
KUBE_DRY_RUN = env_bool("KUBE_DRY_RUN", not (REDIS_URL or KUBE_API_URL))
# Each Kubernetes API request waits at most this long to connect, and as long for its answer.
HMS_KUBE_TIMEOUT_SECONDS = env_float("HMS_KUBE_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# Playbooks (docs/PLAYBOOK.md): delays are multiplied by the scale (tests shorten them).
HMS_PLAYBOOK_DELAY_SCALE = env_float("HMS_PLAYBOOK_DELAY_SCALE", 1.0, minimum=0.0)
HMS_PLAYBOOK_RETRY_SECONDS = env_float("HMS_PLAYBOOK_RETRY_SECONDS", 2.0, minimum=0.0)
HMS_PLAYBOOK_RETRY_MAX_SECONDS = env_float("HMS_PLAYBOOK_RETRY_MAX_SECONDS", 300.0, minimum=0.0)
HMS_PLAYBOOK_MAX_ATTEMPTS = env_int("HMS_PLAYBOOK_MAX_ATTEMPTS", 5, minimum=1)
HMS_PLAYBOOK_LEASE_SECONDS = env_float("HMS_PLAYBOOK_LEASE_SECONDS", 300.0, minimum=10.0)
if HMS_PLAYBOOK_LEASE_SECONDS <= HMS_KUBE_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"HMS_PLAYBOOK_LEASE_SECONDS={HMS_PLAYBOOK_LEASE_SECONDS} must be well above "
        f"HMS_KUBE_TIMEOUT_SECONDS={HMS_KUBE_TIMEOUT_SECONDS}: a worker still waiting on "
        "Kubernetes would lose its run to another"
    )

# Outbound requests built from user data (scrape targets, webhooks): ops/outbound.py.
HMS_OUTBOUND_ALLOW = env_networks("HMS_OUTBOUND_ALLOW")
HMS_OUTBOUND_RESOLVER = "ops.outbound.system_resolve"

EMAIL_URL = env_url("EMAIL_URL", None, schemes=("smtp", "smtps", "console"))
if EMAIL_URL and not EMAIL_URL.startswith("console"):
    _email = urlsplit(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 25)
    EMAIL_HOST_USER = _email.username or ""
    EMAIL_HOST_PASSWORD = _email.password or ""
    EMAIL_USE_SSL = _email.scheme == "smtps"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "hms-monitor@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
