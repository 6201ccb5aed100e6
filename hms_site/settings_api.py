"""The API's settings: request body limits (``hms_site/limits.py``, ``ops/api/parsers.py``),
Django REST framework (parsers, authentication, pagination, throttles), the APM run rate,
and the OpenAPI schema.
"""

import re

from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_bool, env_float, env_int, env_str

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
# A watchdog run that changes no escalation state commits without waiting for the WAL
# flush (PostgreSQL; a crash may lose the last ~0.6 s of such rows: apm/steady_runs.py).
HMS_WATCHDOG_ASYNC_COMMIT = env_bool("HMS_WATCHDOG_ASYNC_COMMIT", True)
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
# A verdict whose data covers less of its window than this is flagged (apm/quality.py).
HMS_COMPLETENESS_MIN = env_float("HMS_COMPLETENESS_MIN", 0.8, minimum=0.0)
if HMS_COMPLETENESS_MIN > 1:
    raise ImproperlyConfigured(f"HMS_COMPLETENESS_MIN={HMS_COMPLETENESS_MIN} must be 0..1")
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
