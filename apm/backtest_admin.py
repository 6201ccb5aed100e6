"""The admin's "Backtest" page for a baseline: a form of candidate settings, the counts and an
inline SVG chart of the replayed deviations (no script, nothing from a CDN).

It calls ``apm.backtest.run``, as the API does; nothing is written.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils import timezone

from apm import backtest
from apm.models import Baseline
from ops import whatif_chart


class BacktestForm(forms.Form):
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

    def payload(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        for key in ("since", "until"):
            data[key] = data[key].isoformat()
        return data


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
    answer = svg = None
    if request.method == "POST" and form.is_valid():
        try:
            answer = backtest.run(baseline, form.payload())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            svg = chart(answer, answer["candidate"]["threshold_pct"])
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Backtest {baseline.program.code} / {baseline.name}",
        "baseline": baseline,
        "form": form,
        "answer": answer,
        "span": answer and [answer[k][:16].replace("T", " ") for k in ("since", "until")],
        "chart": svg,
    }
    return TemplateResponse(request, "admin/apm/baseline/backtest.html", context)
