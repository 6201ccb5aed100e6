"""Error pages that Django itself answers before a view runs (e.g. a form body with more
fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``): JSON under ``/api/``, HTML elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"bad request: {exception}"[:500]}, status=400)
    return defaults.bad_request(request, exception, template_name)
