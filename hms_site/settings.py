"""HMS Monitor settings, read from the environment (see README "Configuration").

The embedded default needs nothing: SQLite in ``var/`` and Celery's
``filesystem://`` broker. ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis. A malformed value stops start-up naming the variable.

This module is ``DJANGO_SETTINGS_MODULE``: Django's own wiring (apps, middleware,
templates, the databases, static files, logging) is here, and each group of
environment-validated settings has a module of its own, imported below:
``settings_base`` (paths, ``DEBUG``, ``REDIS_URL``), ``settings_security``,
``settings_api`` (body limits, DRF, throttles), ``settings_celery`` (broker, beat)
and ``settings_integrations`` (outbox, Prometheus, Slack, Kubernetes, playbooks,
the outbound guard, e-mail).
"""

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_str, env_url
from hms_site.probe_database import ALIAS as PROBE_ALIAS
from hms_site.probe_database import probe_database
from hms_site.settings_api import *  # noqa: F403
from hms_site.settings_base import *  # noqa: F403
from hms_site.settings_base import BASE_DIR, REDIS_URL, VAR_DIR
from hms_site.settings_celery import *  # noqa: F403
from hms_site.settings_integrations import *  # noqa: F403
from hms_site.settings_security import *  # noqa: F403

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

# --- cache (login throttling, DRF throttles) -----------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, one client object per pool (hms_site/cache.py).
            "BACKEND": "hms_site.cache.RedisCache",
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
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
