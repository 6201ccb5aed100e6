"""The baseline pieces the pages share (``apm/templatetags/hms_cards.py``) render the HTML
the ``{% include %}``d partials rendered, with every value escaped; a hostile name on the
dashboard reaches the page as text."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from apm.signoff import SourceCheck
from tests import factories as f

HOSTILE = '<script>alert("x")</script>&'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"


def render(source: str, **context) -> str:
    return Template("{% load hms_cards %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("status", "html"),
    [
        ("ok", '<span class="state state-ok">OK</span>'),
        ("breach", '<span class="state state-breach">Breach</span>'),
        ("no_data", '<span class="state state-no_data">No data</span>'),
        ("error", '<span class="state state-error">Error</span>'),
        (
            "insufficient_data",
            '<span class="state state-insufficient_data">Insufficient data</span>',
        ),
        ("maintenance", '<span class="state state-maintenance">Maintenance</span>'),
        ("", '<span class="state state-unknown">Not measured yet</span>'),
        (None, '<span class="state state-unknown">Not measured yet</span>'),
        (HOSTILE, f'<span class="state state-{ESCAPED}">{ESCAPED}</span>'),
    ],
)
def test_a_status_badge_says_the_status_in_words(status, html):
    assert render("{{ status|status_badge }}", status=status) == html


def test_a_signed_off_source_is_a_tick_and_a_flagged_one_a_list_of_warnings():
    ok = SourceCheck(signed=f"Signed off by {HOSTILE} 3 days ago")
    assert render("{% source_check s %}", s=ok) == (
        f'<p class="source muted" data-role="source">✔ Signed off by {ESCAPED} 3 days ago.</p>\n'
    )
    flagged = SourceCheck(
        signed="Signed off by alice 2 years ago",
        flags=["Sign-off out of date: renew it.", f"Stale data: {HOSTILE}"],
        state="stale_signoff",
        short=["Sign-off out of date (2 years ago)", HOSTILE],
    )
    head = '<ul class="source source-flagged" data-role="source" aria-label="Data warnings">'
    assert render("{% source_check s brief=True %}", s=flagged) == (
        f"{head}<li>⚠ Sign-off out of date (2 years ago)</li><li>⚠ {ESCAPED}</li></ul>"
    )
    assert render("{% source_check s %}", s=flagged) == (
        f"{head}<li>⚠ Sign-off out of date: renew it.</li><li>⚠ Stale data: {ESCAPED}</li>"
        '<li class="muted">Signed off by alice 2 years ago.</li></ul>'
    )
    assert render("{% source_check s %}", s=None) == f"{head}</ul>"


def test_a_trend_chart_is_its_placeholder_and_its_data_as_json_script():
    graph = {"x": [1, 2], "y": [1.5, None], "label": HOSTILE}
    html = render("{% trend_chart g 'trend-7' 'trend of '|add:name %}", g=graph, name=HOSTILE)
    assert html == (
        f'<div class="chart" data-graph="trend-7" role="img" aria-label="trend of {ESCAPED}">'
        '</div>\n<script id="trend-7" type="application/json">{"x": [1, 2], "y": [1.5, null], '
        '"label": "\\u003Cscript\\u003Ealert(\\"x\\")\\u003C/script\\u003E\\u0026"}</script>'
    )


def test_the_last_periods_are_an_ordered_list_and_nothing_without_periods():
    cells = [
        {"label": "2026-Q3", "status": "met", "status_label": "met", "value": 12.345,
         "title": "2026-Q3: met, 12.35"},
        {"label": HOSTILE, "status": "pending", "status_label": "not judged yet", "value": None,
         "title": f"{HOSTILE}: not judged yet"},
    ]  # fmt: skip
    assert render("{% period_list cells 'last periods' %}", cells=cells) == (
        '<ol class="periods" aria-label="last periods">'
        '<li class="period period-met" title="2026-Q3: met, 12.35"><span class="period-label">'
        '2026-Q3</span> <span class="period-status">met</span> <span class="period-value">12.35'
        "</span></li>"
        f'<li class="period period-pending" title="{ESCAPED}: not judged yet">'
        f'<span class="period-label">{ESCAPED}</span> <span class="period-status">not judged yet'
        "</span></li></ol>"
    )
    assert render("{% period_list cells 'last periods' %}", cells=[]) == ""


@pytest.mark.django_db
def test_hostile_names_on_the_dashboard_are_shown_as_text(client, django_user_model):
    program = f.program(name=HOSTILE, code="hostile", authority=HOSTILE)
    wait = f.ledger_baseline(program, name=HOSTILE)
    f.escalated(wait, 21, days_ago=3)
    f.leadership_ticket(wait, HOSTILE)
    client.force_login(django_user_model.objects.create_superuser("admin_ada", password="pw"))

    html = client.get("/dashboard/").content.decode()

    assert HOSTILE not in html and "<script>alert" not in html
    # the card's title and authority, the baseline's link, chart label and trend data, the
    # escalation's promise and program, the ticket
    assert html.count(ESCAPED) >= 8
    assert f'aria-label="90-day trend of {ESCAPED}"' in html
    assert f'<h3 id="program-{program.pk}">{ESCAPED} <span class="muted">(hostile)</span>' in html
    assert f'<span class="muted">· {ESCAPED} · open</span>' in html
    assert f"<li>{ESCAPED} — <a " in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_status_badge_of_an_object_without_status_is_not_measured():
    assert render("{{ b.latest_status|status_badge }}", b=SimpleNamespace()) == (
        '<span class="state state-unknown">Not measured yet</span>'
    )


def test_an_escalation_row_and_a_ticket_say_their_fields_escaped():
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    row = SimpleNamespace(
        level="critical", page_url="/dashboard/baselines/7/", baseline_name=HOSTILE,
        program_name=HOSTILE, status_label="Open", brief=HOSTILE,
        red_since=at - timedelta(days=3, hours=2),
    )  # fmt: skip
    assert render("{% escalation_row e at %}", e=row, at=at) == (
        '<tr><td><span class="state state-critical">critical</span></td>\n'
        f'          <td><a href="/dashboard/baselines/7/">{ESCAPED}</a>\n'
        f'            <span class="muted">· {ESCAPED} · Open</span>\n'
        f'            <br><span class="muted">{ESCAPED}</span></td>\n'
        "          <td>3\xa0days, 2\xa0hours</td></tr>"
    )
    ticket = SimpleNamespace(title=HOSTILE, baseline_id=None, created_at=at - timedelta(hours=2))
    assert render("{% ticket_item t at %}", t=ticket, at=at) == (
        f'<li>{ESCAPED}\n        <span class="muted">opened '
        '<time datetime="2026-12-03T10:00:00+00:00" title="2026-12-03 10:00:00 UTC">2 h ago</time>'
        "</span></li>"
    )
