from django.urls import path

from apm import views

app_name = "apm_pages"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/baselines/<int:baseline_id>/", views.baseline, name="baseline"),
    path("public/", views.public, name="public"),
]
