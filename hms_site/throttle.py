"""Login lockout counters, shared by every path that authenticates.

Each failed login (Django's ``user_login_failed``, sent by ``authenticate()``
for ``/login/``, ``/admin/login/`` and anything else that checks a password)
adds one to two counters: one per username (whatever the address) and one per
client address (whatever the username). A username with
``LOGIN_FAILURES_ALLOWED`` failures, or an address with
``LOGIN_ADDRESS_FAILURES_ALLOWED``, is locked until ``LOGIN_LOCKOUT_SECONDS``
after its last failure; ``hms_site.auth_backends.LoginLockoutBackend`` refuses
it before any password is checked, and ``LoginLockoutMiddleware`` turns that
refusal into a 429. A username that does not exist is
counted and locked like one that does, and the 429 says the same, so the
answer never tells which usernames exist.

Behind a reverse proxy, list it in ``HMS_TRUSTED_PROXIES`` so the address
counted is the client's, not the proxy's (else every client shares one).
The counters live in the configured cache: Redis when ``REDIS_URL`` is set,
else the file cache in ``var/`` that every process of the embedded default
shares (its increments are not atomic across processes; Redis's are).
A successful login clears its username's counter, never the address's
(otherwise one valid account would reset the guessing budget of an address).
"""

import hashlib
import ipaddress

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import render

LOCKED_ATTRIBUTE = "hms_login_locked"
LOCKED_MESSAGE = (
    "Too many failed sign-in attempts for this username or from your address. "
    "Try again in {minutes} minute(s)."
)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in settings.HMS_TRUSTED_PROXIES)


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind a proxy listed in
    ``HMS_TRUSTED_PROXIES`` the last ``X-Forwarded-For`` hop that is not one of
    them (hops a client wrote itself, further left, are never believed)."""
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR") or ""
    if not _trusted(address):
        return address
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([h.strip() for h in hops if h.strip()]):
        if _trusted(hop):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return address
    return address


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"login-failures:{kind}:{digest}"


def _keys(request, username: str) -> list[tuple[str, int]]:
    keys = [(_key("user", (username or "").strip().lower()), settings.LOGIN_FAILURES_ALLOWED)]
    address = client_address(request)
    if address:
        keys.append((_key("addr", address), settings.LOGIN_ADDRESS_FAILURES_ALLOWED))
    return keys


def is_locked_out(request, username: str) -> bool:
    """True when ``username`` or the request's address has used up its failed logins."""
    counts = cache.get_many([key for key, _ in _keys(request, username)])
    return any(counts.get(key, 0) >= allowed for key, allowed in _keys(request, username))


def _count(key: str, allowed: int) -> None:
    timeout = settings.LOGIN_LOCKOUT_SECONDS
    if cache.add(key, 1, timeout=timeout):
        return
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=timeout)
        return
    if count >= allowed:  # locked: the lockout lasts from the last failure
        cache.touch(key, timeout)


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    for key, allowed in _keys(request, username):
        _count(key, allowed)


@receiver(user_logged_in)
def _reset_failures(sender, request, user, **kwargs):
    cache.delete(_key("user", user.get_username().strip().lower()))


def lockout_response(request) -> HttpResponse:
    minutes = max(1, -(-settings.LOGIN_LOCKOUT_SECONDS // 60))
    message = LOCKED_MESSAGE.format(minutes=minutes)
    response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(settings.LOGIN_LOCKOUT_SECONDS)
    return response


class LoginLockoutMiddleware:
    """Answers 429 when the lockout backend refused this request's login.

    The refusal itself happens in the authentication backend (so every path is
    covered); this only replaces the login form's "wrong password" page with
    a lockout answer that is the same whether or not the username exists.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, LOCKED_ATTRIBUTE, False):
            return lockout_response(request)
        return response
