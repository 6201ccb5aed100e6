"""Authentication backends.

``LoginLockoutBackend`` comes first in ``AUTHENTICATION_BACKENDS``: it never
authenticates anyone, it refuses (``PermissionDenied``, which stops Django from
asking the next backend) a username or client address that has used up its
failed logins (``hms_site.throttle``). Because the check sits in
``authenticate()``, ``/login/``, ``/admin/login/`` and any future path that
checks a password share one counter; a locked username is refused even with
the right password, and before any password hash is computed, so the answer
costs the same whether the user exists or not. It has no ``get_user``, so
Django never picks it as a session's backend (``force_login`` takes the first
backend that has one).
"""

from django.core.exceptions import PermissionDenied

from hms_site import throttle


class LoginLockoutBackend:
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("email") or ""
        if throttle.is_locked_out(request, username):
            if request is not None:
                setattr(request, throttle.LOCKED_ATTRIBUTE, True)
            raise PermissionDenied("login locked out")
        return None
