"""The admin's "Backtest" page for a baseline: a form of candidate settings, the counts and an
inline SVG chart of the replayed deviations (no script, nothing from a CDN).

It calls ``apm.backtest.run``, as the API does; nothing is written.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils import timezone

from apm import backtest
from apm.models import Baseline
from ops import whatif_chart, whatif_page


class BacktestForm(whatif_page.BacktestForm):
    since = forms.DateTimeField(help_text="UTC, e.g. 2026-06-01 00:00")
    until = forms.DateTimeField(help_text="UTC; not in the future")
    step = forms.CharField(required=False, help_text="30m, 6h, 1d; empty: the schedule's")
    target_value = forms.FloatField(required=False)
    compare_op = forms.ChoiceField(
        required=False, choices=[("", "as saved"), *Baseline.CompareOp.choices]
    )
    threshold_pct = forms.FloatField(required=False)
    min_samples = forms.IntegerField(required=False, min_value=1)
    period = forms.ChoiceField(required=False, choices=[("", "as saved"), *Baseline.Period.choices])


def chart(answer: dict, threshold_pct: float) -> str:
    """Deviation % per point against the threshold."""
    return whatif_chart.svg(
        answer["points"],
        key="deviation_pct",
        state="status",
        limit=threshold_pct,
        unit="%",
        label="backtest deviations",
    )


def view(model_admin, request, pk):
    baseline = (
        Baseline.objects.editable_by(request.user).select_related("program").filter(pk=pk).first()
    )
    if baseline is None:
        raise Http404("No baseline of your programs with that id.")
    now = timezone.now().replace(second=0, microsecond=0)
    initial = {"since": now - timedelta(days=90), "until": now, "step": "1d"}
    form = BacktestForm(request.POST or None, initial=initial)
    answer = whatif_page.answer_of(request, form, lambda data: backtest.run(baseline, data))
    context = whatif_page.page_context(
        model_admin,
        request,
        form,
        answer,
        title=f"Backtest {baseline.program.code} / {baseline.name}",
        baseline=baseline,
        chart=answer and chart(answer, answer["candidate"]["threshold_pct"]),
    )
    return TemplateResponse(request, "admin/apm/baseline/backtest.html", context)
