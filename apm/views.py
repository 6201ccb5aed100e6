"""Dashboard, baseline page and public scorecard: thin views over ``apm.pages``."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from apm import pages, public_page


def home(request):
    """``/``: the dashboard for people who are logged in, the public scorecard for others."""
    return redirect("apm_pages:dashboard" if request.user.is_authenticated else "apm_pages:public")


@login_required(login_url="login")
def dashboard(request):
    return render(request, "apm/dashboard.html", pages.dashboard(request.user, request.GET))


@login_required(login_url="login")
def baseline(request, baseline_id: int):
    return render(request, "apm/baseline.html", pages.baseline_page(request.user, baseline_id))


def public(request):
    return render(request, "apm/public.html", public_page.scorecard(request.GET))
