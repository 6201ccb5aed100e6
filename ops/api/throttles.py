"""Rate limiting for ``POST /api/v1/metrics/``: per service ingest key, else per user/address.

The rate is ``HMS_INGEST_RATE`` requests (each up to 10,000 samples), e.g. ``600/min``.
"""

from rest_framework.throttling import SimpleRateThrottle

from ops.api.authentication import IngestPrincipal


class IngestRateThrottle(SimpleRateThrottle):
    scope = "ingest"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, IngestPrincipal):
            ident = f"service:{request.auth.service_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
