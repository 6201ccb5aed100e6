"""The quarterly review page and the printable trail report (thin views)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header

from apm import trail, trail_pdf
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
    if request.GET.get("format") != "pdf":
        return render(request, "apm/trail.html", context)
    page = render(request, "apm/trail.html", context)  # media "print": as the printout
    try:
        pdf = trail_pdf.render(page.content.decode(), request.build_absolute_uri("/"))
    except trail_pdf.PdfUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    disposition = content_disposition_header(True, f"trail-{program.code}.pdf")
    return HttpResponse(
        pdf, content_type="application/pdf", headers={"Content-Disposition": disposition}
    )
