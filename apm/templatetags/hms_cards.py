"""The pieces a baseline shows on the dashboard's cards, the baseline page, the review and
the public scorecard: its status badge, data-source check, trend chart and last periods;
and, made of them, the dashboard's cards and the rows beside them.

They were ``{% include %}``s; the dashboard rendered ~120 of them a page (four a card),
and an include costs a template lookup, a context push and a nested render each time. As
tags they are one function call that builds the same HTML with ``hms_site.html.html``
(``format_html``: every value escaped, as ``{{ }}`` escapes it). One definition each, used
by every page.

``program_card``: the dashboard's 20 cards and their 40 baselines were ~60 % of its
template time (~13 ms of ~21 ms CPU at 200 programs): ~15 variables, filters and tags a
baseline, each resolved and dispatched by the template engine, and two loops. One call a
card builds it, with ``baseline_card`` a baseline. The same for the side's rows: an
open escalation (``escalation_row``) and a leadership ticket (``ticket_item``). The
dashboard calls the three from the view (``dashboard_rows``), while PostgreSQL adds up
the strip's sums, and its template shows the HTML they built.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat, timesince_filter
from django.utils.html import json_script
from django.utils.safestring import SafeString, mark_safe

from hms_site.html import html, html_join
from ops.templatetags.hms_time import when

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
    return html('<span class="state state-{}">{}</span>', status, STATUS_WORDS.get(status, status))


@register.simple_tag
def source_check(source, brief=False):
    """A baseline's data-source sign-off and freshness in words (``apm.signoff.SourceCheck``):
    a tick and who signed, or a list of warnings; ``brief`` for the few-word form (cards,
    table cells)."""
    if getattr(source, "ok", False):
        return html('<p class="source muted" data-role="source">✔ {}.</p>\n', source.signed)
    if brief:
        items = html_join("<li>⚠ {}</li>", ((flag,) for flag in getattr(source, "short", ())))
    else:
        items = html_join("<li>⚠ {}</li>", ((flag,) for flag in getattr(source, "flags", ())))
        if getattr(source, "state", None) == "stale_signoff":
            items = html('{}<li class="muted">{}.</li>', items, source.signed)
    return html(
        '<ul class="source source-flagged" data-role="source" aria-label="Data warnings">{}</ul>',
        items,
    )


@register.simple_tag
def trend_chart(graph, chart_id, label):
    """A chart from a graph dict (x, y, line) and its data: ``chart_id`` unique on the page."""
    return html(
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
        else html(' <span class="period-value">{}</span>', floatformat(value, "-2"))
    )
    return html(
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
    return html(
        '<ol class="periods" aria-label="{}">{}</ol>',
        label,
        SafeString("".join(map(_period, periods))),
    )


def _target(b, at) -> str:
    """'target ≤ 14, deviation 50.0 %, measured <time…>' (the card's muted line)."""
    text = html("target {} {}", b.get_compare_op_display()[:1], floatformat(b.target_value, "-2"))
    if b.latest_deviation_pct is not None:
        text = html("{}, deviation {} %", text, floatformat(b.latest_deviation_pct, 1))
    if b.latest_evaluated_at:
        text = html("{}, measured {}", text, when(b.latest_evaluated_at, at))
    return text


def baseline_card(b, at):
    """A baseline on a dashboard card: its link, status, target and latest deviation, the
    latest verdict's data quality, its source check, 90-day trend and last periods. ``b`` is
    a card baseline as ``apm.pages`` and ``apm.page_rows`` leave it."""
    quality = (
        html(
            '<p class="quality" data-role="quality">Latest verdict: {}</p>\n        ',
            b.quality_words,
        )
        if b.quality_words
        else ""
    )
    periods = (
        html("\n        {}", period_list(b.periods, "last 8 periods of " + b.name))
        if b.periods
        else ""
    )
    return html(
        '<div class="baseline">\n        <p><a href="{}">{}</a>\n          {}\n          '
        '<span class="muted">{}</span></p>\n        {}{}\n        {}{}\n      </div>',
        b.page_url,
        b.name,
        status_badge(b.latest_status),
        _target(b, at),
        quality,
        source_check(b.source, brief=True),
        trend_chart(b.trend, b.chart_id, "90-day trend of " + b.name),
        periods,
    )


@register.simple_tag
def program_card(program, at):
    """A program's card on the dashboard: its name, code and authority, and each of its
    baselines (``baseline_card``), or a line saying it has none yet."""
    baselines = program.card_baselines
    body = (
        SafeString("".join(f"\n      {baseline_card(b, at)}" for b in baselines))
        if baselines
        else mark_safe('<p class="muted">No baseline yet.</p>')
    )
    return html(
        '<section class="card" aria-labelledby="program-{}">\n    <h3 id="program-{}">{} '
        '<span class="muted">({})</span></h3>\n    <p class="muted">{}</p>\n    {}\n  </section>',
        program.pk,
        program.pk,
        program.name,
        program.code,
        program.authority,
        body,
    )


@register.simple_tag
def escalation_row(e, at):
    """An open escalation's row in the dashboard's table: level, promise and program,
    status and brief message, and how long it has been red (``timesince``)."""
    return html(
        '<tr><td><span class="state state-{}">{}</span></td>\n          <td><a href="{}">{}</a>\n'
        '            <span class="muted">· {} · {}</span>\n            <br><span class="muted">{}'
        "</span></td>\n          <td>{}</td></tr>",
        e.level,
        e.level,
        e.page_url,
        e.baseline_name,
        e.program_name,
        e.status_label,
        e.brief,
        timesince_filter(e.red_since, at),
    )


@register.simple_tag
def ticket_item(t, at):
    """A leadership-review ticket in the dashboard's list: its title, its promise's link
    when it has one, and when it was opened."""
    link = html(' — <a href="{}">{}</a>', t.page_url, t.baseline_name) if t.baseline_id else ""
    return html(
        '<li>{}{}\n        <span class="muted">opened {}</span></li>',
        t.title,
        link,
        when(t.created_at, at),
    )


def dashboard_rows(programs, escalations, tickets, at) -> dict:
    """The dashboard's cards and side rows, built before the template renders (``apm.pages``
    builds them while the database adds up the strip's sums): ``cards`` (``program_card``
    of each program), ``escalations`` (``escalation_row``) and ``tickets``
    (``ticket_item``), the same HTML the tags give in a template."""
    return {
        "cards": [program_card(program, at) for program in programs],
        "escalations": [escalation_row(e, at) for e in escalations],
        "tickets": [ticket_item(t, at) for t in tickets],
    }
