"""Login throttling: after ``LOGIN_FAILURES_ALLOWED`` failed logins for one
username from one address, further attempts are refused with 429 for
``LOGIN_LOCKOUT_SECONDS``. Counts live in the shared cache, so every web
process sees them.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import reverse


def _key(request, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{address}\0{username.lower()}".encode()).hexdigest()
    return f"login-failures:{digest}"


def is_locked_out(request, username: str) -> bool:
    return cache.get(_key(request, username), 0) >= settings.LOGIN_FAILURES_ALLOWED


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    key = _key(request, credentials.get("username", ""))
    if cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


@receiver(user_logged_in)
def _reset_failures(sender, request, user, **kwargs):
    if request is not None:
        cache.delete(_key(request, user.get_username()))


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == reverse("admin:login"):
            username = request.POST.get("username", "")
            if is_locked_out(request, username):
                minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
                return HttpResponse(
                    f"Too many failed logins for this account from your address. "
                    f"Try again in {minutes} minute(s).",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": str(settings.LOGIN_LOCKOUT_SECONDS)},
                )
        return self.get_response(request)
