"""The admin's "Backtest" page for a service: candidate SLO settings, the incidents and
actions the playbook would plan, and a chart; it calls ``ops.backtest.run`` (nothing written)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from ops import backtest, whatif_chart, whatif_page
from ops.models import Service


class ServiceBacktestForm(whatif_page.BacktestForm):
    since = forms.DateTimeField(help_text="UTC, e.g. 2026-11-01 00:00")
    until = forms.DateTimeField(help_text="UTC; not in the future")
    step = forms.CharField(required=False, help_text="30m, 6h, 1d; empty: one minute")
    threshold = forms.FloatField(required=False)
    window_seconds = forms.IntegerField(required=False, min_value=1)
    percentile = forms.FloatField(required=False, min_value=0, max_value=100)
    min_samples = forms.IntegerField(required=False, min_value=1)


def chart(answer: dict) -> str:
    """The replayed values against the candidate threshold."""
    return whatif_chart.svg(
        answer["points"],
        key="value",
        state="state",
        limit=answer["candidate"]["threshold"],
        unit="",
        label="backtest values",
    )


def view(model_admin, request, pk):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    service = get_object_or_404(Service, pk=pk)
    now = timezone.now().replace(second=0, microsecond=0)
    form = ServiceBacktestForm(
        request.POST or None,
        initial={"since": now - timedelta(hours=6), "until": now, "step": "5m"},
    )
    answer = whatif_page.answer_of(request, form, lambda data: backtest.run(service, data))
    context = whatif_page.page_context(
        model_admin,
        request,
        form,
        answer,
        title=f"Backtest {service.pk}",
        service=service,
        chart=answer and chart(answer),
        actions=[
            {**a, "due": a["due_at"][:19].replace("T", " ")}
            for a in (answer or {}).get("actions", [])
        ],
    )
    return TemplateResponse(request, "admin/ops/service/backtest.html", context)
