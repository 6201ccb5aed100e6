"""``/public/badges/<code>.svg`` and ``.json``: anonymous, cached, 404 unless public."""

from django.http import Http404, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from apm import badges


def _badge(code: str) -> badges.Badge:
    program = badges.public_program(code)
    if program is None:
        raise Http404("no public program with this code")
    return badges.badge_for(program)


def _cached(response):
    patch_cache_control(response, public=True, max_age=badges.CACHE_SECONDS)
    return response


@require_GET
def badge_svg(request, code: str):
    response = HttpResponse(badges.svg(_badge(code)), content_type="image/svg+xml; charset=utf-8")
    return _cached(response)


@require_GET
def badge_json(request, code: str):
    return _cached(JsonResponse(_badge(code).endpoint()))
