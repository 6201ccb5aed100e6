"""A lost database connection is the server's trouble, not the client's: answer 503.

With ``Retry-After`` so clients (the SDK's emitter retries 5xx) come back; the
request's transaction was rolled back, so retrying writes nothing twice. The same
for a metrics engine that does not answer (the ``prometheus`` store's
``StoreUnavailable``, on a page or an API read): 503 with its ``Retry-After``.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from ops.metrics.store import StoreUnavailable

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning(
                "database unavailable during %s %s: %s", request.method, request.path, exception
            )
            return JsonResponse(
                {"detail": "The database is unavailable; nothing was saved. Retry shortly."},
                status=503,
                headers={"Retry-After": "2"},
            )
        if isinstance(exception, StoreUnavailable):
            logger.warning("metrics store unavailable during %s %s: %s", request.method,
                           request.path, exception)  # fmt: skip
            return JsonResponse(
                {"detail": f"The metrics store is unavailable ({exception}). Retry shortly."},
                status=503,
                headers={"Retry-After": str(exception.retry_after)},
            )
        return None
