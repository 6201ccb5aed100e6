"""The dashboard's rows made once a page (``apm.page_rows``) say what the template's own
tags and filters said: ``reverse()`` under any script prefix, ``truncatechars``,
``get_status_display``."""

import pytest
from django.template.defaultfilters import truncatechars
from django.urls import clear_script_prefix, reverse, set_script_prefix

from apm.models import Escalation
from apm.page_rows import BaselineLinks, brief, prepare
from tests import factories as f


@pytest.mark.parametrize("prefix", ["/", "/hms/", "/a%20b/"])
def test_a_baseline_link_is_the_same_as_reverse(prefix):
    set_script_prefix(prefix)
    try:
        link = BaselineLinks()
        for pk in (1, 7, 42, 987654321, 2**62):
            assert link(pk) == reverse("apm_pages:baseline", args=[pk])
    finally:
        clear_script_prefix()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "housing_wait_days broke its promise",
        "x" * 120,
        "x" * 121,
        "é" * 119 + "e\u0301",  # combining accent: not NFC, and 120 characters once composed
        "e\u0301" * 80,  # 160 code points, 80 characters
        "wait " * 40,
        "ﬁ" * 5,  # NFC keeps the ligature
    ],
)
def test_brief_is_truncatechars(text):
    assert brief(text) == truncatechars(text, 120)
    assert brief(text, 10) == truncatechars(text, 10)


@pytest.mark.django_db
def test_an_escalation_row_says_its_status_as_get_status_display():
    rows = []
    for status in Escalation.Status.values:
        row = Escalation(baseline_id=1, status=status, message="m")
        rows.append(row)
    rows.append(Escalation(baseline_id=1, status="unheard_of", message="m"))
    prepare(rows, [], [])
    assert [r.status_label for r in rows] == [r.get_status_display() for r in rows]


@pytest.mark.django_db
def test_the_dashboard_links_each_card_escalation_and_ticket_to_its_baseline(
    client, django_user_model
):
    wait = f.ledger_baseline(f.program(), name="housing_wait_days", target_value=14)
    f.escalated(wait, 21)
    f.leadership_ticket(wait, "review housing_wait_days")
    client.force_login(django_user_model.objects.create_superuser("admin_ada", password="pw"))
    html = client.get("/dashboard/").content.decode()
    href = f'href="{reverse("apm_pages:baseline", args=[wait.pk])}"'
    # the card, the escalation row and the ticket
    assert html.count(href) == 3
