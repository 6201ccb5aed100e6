"""War room pages: thin views over ``ops.pages``."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ops import pages
from ops.models import SLO


def _without_page(params) -> str:
    params = params.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required(login_url="login")
def war_room(request):
    room = pages.war_room(request.user, request.GET)
    return render(
        request,
        "ops/war_room.html",
        {
            "room": room,
            "states": SLO.State.choices,
            "initial": room.as_json(),
            "query": _without_page(request.GET),
        },
    )


@never_cache
def war_room_state(request):
    """The tiles as JSON, for the page's polling (same filters, same scoping)."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    room = pages.war_room(request.user, request.GET, with_owners=False)
    if room.filterset.errors:
        return JsonResponse(room.filterset.errors, status=400)
    return JsonResponse(room.as_json())
