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
from django.utils.html import format_html, format_html_join

from apm import backtest
from apm.models import Baseline

COLOURS = {"ok": "#1a7f37", "breach": "#cf222e", "no_data": "#bc4c00", "error": "#8250df"}
WIDTH, HEIGHT, PAD = 760, 220, 36


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


def _dot(x: float, y: float, point: dict) -> tuple:
    when = point["at"][:16].replace("T", " ")
    colour = COLOURS.get(point["status"], "#57606a")
    return f"{x:.1f}", f"{y:.1f}", colour, when, point["status"], f"{point['deviation_pct']:+.1f}"


def chart(answer: dict, threshold_pct: float) -> str:
    """Deviation % per point, the threshold as a dashed line; each point coloured by status."""
    points = answer["points"]
    if not points:
        return ""
    values = [p["deviation_pct"] for p in points]
    top = max([*values, threshold_pct, 0]) * 1.1 or 1
    bottom = min([*values, 0])
    span = (top - bottom) or 1
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def y(v):
        return PAD + (top - v) / span * (HEIGHT - 2 * PAD)

    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{} {} ({} %)</title></circle>',
        (_dot(PAD + i * step, y(p["deviation_pct"]), p) for i, p in enumerate(points)),
    )
    line = " ".join(f"{PAD + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    return format_html(
        '<svg role="img" aria-label="backtest deviations" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" style="background:#fff;border:1px solid #d0d7de">'
        '<line x1="{p}" x2="{r}" y1="{t}" y2="{t}" stroke="#cf222e" stroke-dasharray="4 3"/>'
        '<text x="{r}" y="{tl}" text-anchor="end" font-size="11" fill="#cf222e">'
        "threshold {thr} %</text>"
        '<line x1="{p}" x2="{r}" y1="{z}" y2="{z}" stroke="#8c959f"/>'
        '<text x="4" y="{z}" font-size="11" fill="#57606a">0 %</text>'
        '<polyline points="{line}" fill="none" stroke="#57606a" stroke-width="1"/>{dots}'
        '<text x="{p}" y="{b}" font-size="11" fill="#57606a">{first}</text>'
        '<text x="{r}" y="{b}" text-anchor="end" font-size="11" fill="#57606a">{last}</text>'
        "</svg>",
        w=WIDTH, h=HEIGHT, p=PAD, r=WIDTH - PAD, t=f"{y(threshold_pct):.1f}",
        tl=f"{y(threshold_pct) - 4:.1f}", thr=f"{threshold_pct:g}", z=f"{y(0):.1f}",
        line=line, dots=dots, b=HEIGHT - 8,
        first=points[0]["at"][:16].replace("T", " "), last=points[-1]["at"][:16].replace("T", " "),
    )  # fmt: skip


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
