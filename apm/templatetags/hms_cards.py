"""The pieces a baseline shows on the dashboard's cards, the baseline page, the review and
the public scorecard: its status badge, data-source check, trend chart and last periods.

They were ``{% include %}``s; the dashboard rendered ~120 of them a page (four a card),
and an include costs a template lookup, a context push and a nested render each time. As
tags they are one function call that builds the same HTML with ``format_html`` (every
value escaped, as ``{{ }}`` escapes it). One definition each, used by every page.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html, format_html_join, json_script
from django.utils.safestring import mark_safe

register = template.Library()

STATUS_WORDS = {
    "ok": "OK",
    "breach": "Breach",
    "no_data": "No data",
    "error": "Error",
    "insufficient_data": "Insufficient data",
    "maintenance": "Maintenance",
}
NOT_MEASURED = mark_safe('<span class="state state-unknown">Not measured yet</span>')


@register.filter
def status_badge(status):
    """A run's status as a badge: ``<span class="state state-breach">Breach</span>``."""
    if not status:
        return NOT_MEASURED
    return format_html(
        '<span class="state state-{}">{}</span>', status, STATUS_WORDS.get(status, status)
    )


@register.simple_tag
def source_check(source, brief=False):
    """A baseline's data-source sign-off and freshness in words (``apm.signoff.SourceCheck``):
    a tick and who signed, or a list of warnings; ``brief`` for the few-word form (cards,
    table cells)."""
    if getattr(source, "ok", False):
        return format_html('<p class="source muted" data-role="source">✔ {}.</p>\n', source.signed)
    if brief:
        items = format_html_join(
            "", "<li>⚠ {}</li>", ((flag,) for flag in getattr(source, "short", ()))
        )
    else:
        items = format_html_join(
            "", "<li>⚠ {}</li>", ((flag,) for flag in getattr(source, "flags", ()))
        )
        if getattr(source, "state", None) == "stale_signoff":
            items = format_html('{}<li class="muted">{}.</li>', items, source.signed)
    return format_html(
        '<ul class="source source-flagged" data-role="source" aria-label="Data warnings">{}</ul>',
        items,
    )


@register.simple_tag
def trend_chart(graph, chart_id, label):
    """A chart from a graph dict (x, y, line) and its data: ``chart_id`` unique on the page."""
    return format_html(
        '<div class="chart" data-graph="{}" role="img" aria-label="{}"></div>\n{}',
        chart_id,
        label,
        json_script(graph, chart_id),
    )


def _period(cell: dict) -> str:
    value = cell["value"]
    shown = (
        ""
        if value is None
        else format_html(' <span class="period-value">{}</span>', floatformat(value, "-2"))
    )
    return format_html(
        '<li class="period period-{}" title="{}"><span class="period-label">{}</span> '
        '<span class="period-status">{}</span>{}</li>',
        cell["status"],
        cell["title"],
        cell["label"],
        cell["status_label"],
        shown,
    )


@register.simple_tag
def period_list(periods, label):
    """The last closed periods of a calendar-period baseline (``apm.pages_periods`` cells)."""
    if not periods:
        return ""
    return format_html(
        '<ol class="periods" aria-label="{}">{}</ol>',
        label,
        mark_safe("".join(map(_period, periods))),  # noqa: S308
    )
