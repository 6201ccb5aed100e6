"""What HMS talks to: the notification outbox, Prometheus, Alertmanager, Slack, Kubernetes
and the playbooks, the outbound guard (``ops/outbound/``), and e-mail.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_bool, env_float, env_int, env_networks, env_str, env_url
from hms_site.settings_base import REDIS_URL

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
# Where samples live (ops.metrics.store.STORES): the application's database, or an
# engine speaking Prometheus remote write and PromQL.
HMS_METRICS_STORE = env_str("HMS_METRICS_STORE", "database")
if HMS_METRICS_STORE not in ("database", "prometheus"):
    raise ImproperlyConfigured(
        f"HMS_METRICS_STORE={HMS_METRICS_STORE!r}: give database or prometheus"
    )
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

# Outbound requests built from user data (scrape targets, webhooks): ops/outbound/.
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
