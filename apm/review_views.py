"""The quarterly review page and the printable trail report (thin views)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from apm import trail
from apm.models import Program
from apm.review.page import review_page


@login_required(login_url="login")
def review(request):
    return render(request, "apm/review.html", review_page(request.user, request.GET))


@login_required(login_url="login")
def trail_report(request, program_id: int):
    program = get_object_or_404(Program.objects.visible_to(request.user), pk=program_id)
    built = trail.build(program)
    context = {"trail": built, "program": program, "at": timezone.now()}
    return render(request, "apm/trail.html", context)
