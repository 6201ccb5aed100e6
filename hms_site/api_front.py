"""The API's front door: ``/api/v1/`` lists every resource, ``/api/docs/`` sends a
logged-out browser to the login page and back instead of a bare 401."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

from apm.api.urls import router as apm_router
from ops.api.urls import router as ops_router

# The resources outside the routers (their URL names in ops/api/urls.py).
EXTRA_RESOURCES = {"metrics": "metrics-ingest", "series": "series"}


def api_root_view():
    """DRF's API root (JSON for clients, browsable for people) over every router's resources."""
    resources = {
        prefix: f"{basename}-list"
        for router in (ops_router, apm_router)
        for prefix, _viewset, basename in router.registry
    }
    resources.update(EXTRA_RESOURCES)
    return APIRootView.as_view(api_root_dict=dict(sorted(resources.items())))


_swagger = SpectacularSwaggerSplitView.as_view(url_name="schema")


def api_docs(request, *args, **kwargs):
    """Swagger UI; a browser without a session (and no API token) logs in first."""
    if not request.user.is_authenticated and "HTTP_AUTHORIZATION" not in request.META:
        return redirect_to_login(request.get_full_path(), login_url="login")
    return _swagger(request, *args, **kwargs)
