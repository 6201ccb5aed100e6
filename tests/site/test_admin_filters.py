"""The admin's filter sidebars list only what the user may see.

staff_alice (the housing program's group) opens every registered admin
changelist: none of them may show the transit program's code, name, group or
baseline, in the rows or in the filter choices. The same pages for a superuser
still list both, so the scoping hides nothing from those who may see it.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from apm.models import Escalation, EscalationPolicy, EscalationRoute, Ticket
from apm.services import run_baseline
from apm.tickets import open_ticket
from ops.models import Channel
from tests import factories as f

TRANSIT_NAMES = ("metro-ridership", "Metro Ridership Guarantee", "Transit staff", "metro_wait")
CHANGELISTS = sorted(
    f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    for model in admin.site._registry
)


def _program_with_everything(code, name, group, baseline_name):
    program = f.program(code=code, name=name, owner_group=f.group(group))
    baseline = f.baseline(
        program, name=baseline_name, probe_kind="promql", probe_query="up", clean=False
    )
    run_baseline(baseline)  # no Prometheus here: an error run, which opens an escalation
    escalation = Escalation.objects.get(baseline=baseline)
    EscalationPolicy.objects.create(baseline=baseline, after_days_no_fix=14)
    open_ticket(
        dedupe_key=code,
        kind=Ticket.Kind.LEADERSHIP_REVIEW,
        title=f"Review {baseline_name}",
        baseline=baseline,
        escalation=escalation,
    )
    channel = Channel.objects.create(name=f"{code}-room", kind="slack", target=f"#{code}")
    EscalationRoute.objects.create(program=program, channel=channel)
    return program


def _filter_sidebar(response) -> str:
    html = response.content.decode()
    return html.split('id="changelist-filter"', 1)[1].split("</nav>", 1)[0]


@pytest.fixture
def two_programs(db):
    housing = _program_with_everything(
        "fast-track", "Fast-Track Housing Voucher", "Housing staff", "avg_wait_days"
    )
    # a second program of alice's: a filter with one choice is not shown at all
    _program_with_everything("rent-relief", "Rent Relief Promise", "Housing leads", "days_to_pay")
    _program_with_everything(*TRANSIT_NAMES)
    return housing


@pytest.fixture
def staff_alice(two_programs):
    return f.staff_user("staff_alice", two_programs.owner_group, f.group("Housing leads"))


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_program_staff_see_no_other_programs_name_on_any_changelist(
    client, staff_alice, changelist
):
    client.force_login(staff_alice)
    response = client.get(reverse(changelist))
    assert response.status_code in (200, 403)
    html = response.content.decode()
    for name in TRANSIT_NAMES:
        assert name not in html, f"{changelist} shows {name!r} to staff_alice"


@pytest.mark.parametrize(
    ("changelist", "own_name"),
    [
        ("admin:apm_program_changelist", "Housing leads"),  # the owner-group filter
        ("admin:apm_baseline_changelist", "Fast-Track Housing Voucher"),
        ("admin:apm_deviation_changelist", "Fast-Track Housing Voucher"),
        ("admin:apm_escalation_changelist", "Fast-Track Housing Voucher"),
        ("admin:apm_escalationpolicy_changelist", "Fast-Track Housing Voucher"),
    ],
)
def test_the_filters_still_list_the_users_own_programs(client, staff_alice, changelist, own_name):
    client.force_login(staff_alice)
    response = client.get(reverse(changelist))
    assert response.status_code == 200
    filters = _filter_sidebar(response)
    assert own_name in filters


@pytest.mark.parametrize(
    ("changelist", "names"),
    [
        ("admin:apm_program_changelist", ("Housing leads", "Transit staff")),
        ("admin:apm_baseline_changelist", ("Fast-Track Housing Voucher", "Metro Ridership")),
        ("admin:apm_escalationroute_changelist", ("fast-track-room", "metro-ridership-room")),
    ],
)
def test_a_superuser_still_filters_by_every_program(admin_client, two_programs, changelist, names):
    response = admin_client.get(reverse(changelist))
    filters = _filter_sidebar(response)
    for name in names:
        assert name in filters
