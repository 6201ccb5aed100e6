from django.urls import path

from apm import badge_views, review_views, views

app_name = "apm_pages"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/baselines/<int:baseline_id>/", views.baseline, name="baseline"),
    path("dashboard/review/", review_views.review, name="review"),
    path(
        "dashboard/programs/<int:program_id>/trail/",
        review_views.trail_report,
        name="trail",
    ),
    path("public/", views.public, name="public"),
    path("public/badges/<slug:code>.svg", badge_views.badge_svg, name="badge-svg"),
    path("public/badges/<slug:code>.json", badge_views.badge_json, name="badge-json"),
]
