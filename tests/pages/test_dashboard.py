"""The dashboard and the baseline page: scoped like the API, evidence answers "why is it red"."""

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db

# session, user, the user's permissions (one statement, for "reads everything"), every
# visible program, the strip's quarter evaluations, the page's baselines with their latest
# status, trends, maintenance windows, open escalations with the strip's counts by age,
# leadership tickets
DASHBOARD_QUERIES = 10
# session, user, permissions (2), baseline (with its data age and sign-off), history, chart,
# maintenance spans, escalations, notifications
BASELINE_QUERIES = 10


@pytest.fixture
def housing():
    return f.group("Housing staff")


@pytest.fixture
def staff_alice(housing):
    return f.staff_user("staff_alice", housing)


def test_the_dashboard_needs_a_login(client):
    assert client.get("/dashboard/").status_code == 302


def test_staff_see_only_their_programs_and_superusers_see_all(
    client, staff_alice, housing, django_user_model
):
    mine = f.program(name="Fast-Track Housing Voucher", owner_group=housing)
    f.deviation(f.ledger_baseline(mine, name="housing_wait_days", target_value=14), 21)
    f.program(name="Transit Subsidy", owner_group=f.group("Transit staff"))

    client.force_login(staff_alice)
    html = client.get("/dashboard/").content.decode()
    assert "Fast-Track Housing Voucher" in html and "housing_wait_days" in html
    assert ">Breach<" in html and "deviation 50.0 %" in html
    assert "Transit Subsidy" not in html

    client.force_login(django_user_model.objects.create_superuser("admin_ada", password="pw"))
    html = client.get("/dashboard/").content.decode()
    assert "Fast-Track Housing Voucher" in html and "Transit Subsidy" in html


def test_the_baseline_page_shows_the_latest_evidence_and_the_history(client, staff_alice, housing):
    wait = f.ledger_baseline(
        f.program(owner_group=housing), name="housing_wait_days", target_value=14
    )
    f.deviation(wait, 12, days_ago=2)
    f.deviation(wait, 21)

    client.force_login(staff_alice)
    html = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()

    evidence = html[html.index('id="evidence"') : html.index("</dl>")]
    assert f.SECRET_QUERY in evidence
    assert "(actual - target) / target * 100" in evidence
    assert "&quot;value&quot;: 21" in evidence  # the raw result, as JSON
    assert "<dd>14" in evidence and "<dd>le</dd>" in evidence
    table = html[html.index("<caption") :]
    assert table.count("<tr>") == 3  # header + two evaluations
    assert ">Breach<" in table and ">OK<" in table
    assert '"line": 14.0' in html


def test_the_baseline_page_shows_the_error_of_a_failed_measurement(client, staff_alice, housing):
    wait = f.ledger_baseline(f.program(owner_group=housing))
    f.deviation(wait, None, error="connection refused")
    client.force_login(staff_alice)
    html = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()
    assert "<dt>Error</dt>" in html and "connection refused" in html


def test_a_baseline_of_another_program_is_not_found(client, staff_alice):
    other = f.ledger_baseline(f.program(owner_group=f.group("Transit staff")))
    client.force_login(staff_alice)
    assert client.get(f"/dashboard/baselines/{other.pk}/").status_code == 404


def test_query_counts_of_the_dashboard_and_baseline_page_do_not_grow_with_rows(
    client, staff_alice, housing, django_assert_num_queries
):
    def add(programs, deviations):
        for _ in range(programs):
            b = f.ledger_baseline(f.program(owner_group=housing))
            for days in range(deviations):
                f.deviation(b, 10 + days, days_ago=days)
            f.escalated(b, 30)
            f.leadership_ticket(b, f"review {b.name}")
        return b

    f.slack_route()  # every program: each escalation queues a notification

    client.force_login(staff_alice)
    few = add(3, 3)
    pages = {"/dashboard/": DASHBOARD_QUERIES, f"/dashboard/baselines/{few.pk}/": BASELINE_QUERIES}
    for url, expected in pages.items():
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200
    many = add(17, 30)
    pages[f"/dashboard/baselines/{many.pk}/"] = BASELINE_QUERIES
    for url, expected in pages.items():
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200


def test_the_dashboard_lists_open_escalations_with_their_age_and_leadership_tickets(
    client, staff_alice, housing
):
    wait = f.ledger_baseline(
        f.program(owner_group=housing), name="housing_wait_days", target_value=14
    )
    f.escalated(wait, 21, days_ago=3)
    f.escalated(wait, 22)
    f.leadership_ticket(wait, "Housing wait breached for 30 days: leadership review")
    theirs = f.ledger_baseline(
        f.program(owner_group=f.group("Transit staff")), name="bus_wait_minutes"
    )
    f.escalated(theirs, 40)
    f.leadership_ticket(theirs, "Transit review")

    client.force_login(staff_alice)
    html = client.get("/dashboard/").content.decode()

    escalations = html[html.index('id="escalations-title"') : html.index('id="tickets-title"')]
    assert escalations.count("<tr>") == 2  # header + the one open escalation
    assert "housing_wait_days" in escalations and "3\xa0days" in escalations
    assert "state-critical" in escalations and "bus_wait_minutes" not in escalations
    tickets = html[html.index('id="tickets-title"') : html.index("<h2>Programs</h2>")]
    assert "Housing wait breached for 30 days: leadership review" in tickets
    assert "Transit review" not in tickets


def test_the_baseline_page_shows_its_escalations_and_their_notifications(
    client, staff_alice, housing
):
    program = f.program(owner_group=housing)
    f.slack_route(program)
    wait = f.ledger_baseline(program, name="housing_wait_days", target_value=14)
    f.escalated(wait, 21)
    other = f.ledger_baseline(program, name="voucher_approval_rate")
    f.escalated(other, 99)

    client.force_login(staff_alice)
    html = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()

    section = html[html.index("<h2>Escalations</h2>") : html.index("<h2>Notifications</h2>")]
    assert section.count("<tr>") == 2 and "critical" in section and "open" in section
    notifications = html[html.index("<h2>Notifications</h2>") :]
    assert notifications.count("<tr>") == 2
    assert "housing_wait_days" in notifications and "kpi-alerts" in notifications
    assert "voucher_approval_rate" not in notifications


@pytest.mark.parametrize("granted", ["group", "user"])
def test_a_viewer_reads_every_program_with_the_permission_from_a_group_or_their_own(
    client, granted
):
    """The dashboard reads permissions in one statement: a group's and the user's own count."""
    from django.contrib.auth.models import Permission

    f.program(name="Transit Subsidy", owner_group=f.group("Transit staff"))
    viewers = f.group("Viewers")
    viewer = f.staff_user("viewer_vic", viewers)
    view_program = Permission.objects.get(codename="view_program", content_type__app_label="apm")
    client.force_login(viewer)
    assert "Transit Subsidy" not in client.get("/dashboard/").content.decode()
    (viewers.permissions if granted == "group" else viewer.user_permissions).add(view_program)
    assert "Transit Subsidy" in client.get("/dashboard/").content.decode()
