"""Security settings: the secret key, hosts, HTTPS hardening, the content security policy,
and the login lockout (``hms_site.auth_backends``). Each value comes from the environment
through the ``env_*`` helpers; a malformed one stops start-up naming the variable.
"""

from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_bool, env_int, env_list, env_networks, env_str
from hms_site.settings_base import DEBUG, VAR_DIR

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
