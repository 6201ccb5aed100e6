"""Links built once per page (``apm.links``) are ``reverse()``'s, under any script prefix."""

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from apm.links import BaselineLinks
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
