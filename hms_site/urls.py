from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from apm.views import home
from hms_site.api_front import api_docs, api_root_view
from hms_site.health import api_not_found, healthz
from hms_site.metrics import metrics_view

api_v1 = [
    path("", api_root_view(), name="api-root"),
    path("", include("ops.api.urls")),
    path("", include("apm.api.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    # Everyone signed in may read the pages; the admin's login is for staff only.
    path("login/", LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("", include("apm.urls")),
    path("", include("ops.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/v1/", include(api_v1)),
    # Anything else under /api/ answers like the API does: JSON, not an HTML page.
    re_path(r"^api/", api_not_found),
]

admin.site.site_header = "HMS Monitor"
admin.site.site_title = "HMS Monitor"

handler400 = "hms_site.errors.bad_request"
